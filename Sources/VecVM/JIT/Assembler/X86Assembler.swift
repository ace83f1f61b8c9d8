// X86Assembler.swift — the x86-64 assembler the JIT emits machine code with; this file is its state and the
// parts that do not encode instructions: the code buffer, labels and the fix-ups that refer to them, alignment
// padding, raw bytes, the constants of the data section, and the first error. The rest of the assembler:
//   X86Assembler+Emit.swift      `emit(_:_:_:_:_:condition:short:)`: operands → the encoding class of the table
//   X86Assembler+GPForms.swift   the general-purpose encoding classes (ALU, mov, shifts, branches, …)
//   X86Assembler+VEXForms.swift  the VEX encoding classes (AVX, AVX2, FMA)
//   X86Assembler+Encoder.swift   the bytes every class is made of: REX and VEX prefixes, ModRM, SIB, immediates
//   X86Assembler+Finalize.swift  the data section laid out after the code, every fix-up resolved
//   X86Assembler+Listing.swift   the AT&T listing
//   X86Assembler+GP.swift        typed shorthands (`mov(_:_:)`, `add(_:_:)`, …) for `emit`
//   X86Assembler+EVEX.swift, X86Assembler+Gather.swift  AVX-512 and VSIB encodings made outside the table
// The table itself (X86Encoding.swift) and the operand types (X86Registers.swift) are beside them.
//
// It touches nothing outside itself: no executable memory (the CodeHeap's job), no CPU feature detection (the
// caller compares `requiredFeatures` with CPUID).

/// What went wrong while assembling. Emitting methods never trap on misuse: the first error is kept (later
/// instructions are still checked, the failed one emits nothing) and `finalize()` throws it.
enum X86AssemblerError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The operands do not fit any form of the instruction (wrong kinds, mixed widths, missing memory width).
    case invalidOperands(instruction: String, reason: String, offset: Int)
    /// The memory operand cannot be encoded (rsp as index, scale 3, 32-bit base, rip-relative with a base).
    case invalidMemoryOperand(reason: String, offset: Int)
    /// The immediate does not fit the instruction's immediate field.
    case immediateOutOfRange(instruction: String, value: Int64, offset: Int)
    /// The label was created by another assembler.
    case foreignLabel(offset: Int)
    /// `bind` on a label that is already bound, or on a constant's label (which the data section binds).
    case labelAlreadyBound(label: Int)
    /// A label was referenced (at code offset `referencedAt`) but never bound.
    case unboundLabel(label: Int, referencedAt: Int)
    /// A short (rel8) branch whose target is further than −128…127 bytes.
    case branchOutOfRange(label: Int, at: Int, distance: Int)
    /// A rel32 branch or rip-relative displacement beyond ±2 GiB.
    case displacementOutOfRange(label: Int, at: Int, distance: Int)
    /// `align`/`constant` alignment that is not a power of two between 1 and 4096.
    case invalidAlignment(Int)
    /// Something was emitted after `finalize()`.
    case alreadyFinalized

    var description: String {
        switch self {
        case .invalidOperands(let instruction, let reason, let offset):
            "\(instruction) at \(offset): \(reason)"
        case .invalidMemoryOperand(let reason, let offset): "memory operand at \(offset): \(reason)"
        case .immediateOutOfRange(let instruction, let value, let offset):
            "\(instruction) at \(offset): immediate \(value) does not fit"
        case .foreignLabel(let offset): "label used at \(offset) belongs to another assembler"
        case .labelAlreadyBound(let label): "label .L\(label) is already bound"
        case .unboundLabel(let label, let at): "label .L\(label) referenced at \(at) is never bound"
        case .branchOutOfRange(let label, let at, let distance):
            "short branch at \(at) cannot reach .L\(label) (\(distance) bytes)"
        case .displacementOutOfRange(let label, let at, let distance):
            "displacement at \(at) cannot reach .L\(label) (\(distance) bytes)"
        case .invalidAlignment(let alignment): "alignment \(alignment) is not a power of two in 1...4096"
        case .alreadyFinalized: "the assembler was already finalized"
        }
    }
}

/// An x86-64 assembler. Instructions take Intel operand order (destination first). Usage:
///
///     var a = X86Assembler()
///     let loop = a.newLabel()
///     let half = a.constant(float32: Array(repeating: 0.5, count: 8))   // 32-byte aligned, after the code
///     a.emit(.vbroadcastss, .ymm(.ymm1), .mem(X86.ptr(half)))           // rip-relative
///     a.bind(loop)
///     a.emit(.vmulps, .ymm(.ymm0), .ymm(.ymm1), .mem(X86.ptr(.rdi, index: .rcx, scale: 4)))
///     a.add(.rcx, 8)
///     a.cmp(.rcx, .rsi)
///     a.j(.b, loop)
///     a.ret()
///     let bytes = try a.finalize()   // throws X86AssemblerError; load at a multiple of requiredAlignment
struct X86Assembler: Sendable {
    /// One line of the AT&T listing: an instruction (with the bytes it occupies), a label, or a directive.
    /// Joined by `listingText`, the lines assemble (with `llvm-mc` or GNU `as`) to exactly `finalize()`'s bytes.
    struct ListingLine: Sendable, Equatable {
        enum Kind: Sendable { case instruction, label, directive }
        let offset: Int
        let length: Int
        let text: String
        let kind: Kind
    }

    // The assembler's state is written only by its own files (this one and X86Assembler+*.swift). What they
    // share is internal rather than private, Swift having no access level for a group of files; clients read
    // `code`, `listing`, `requiredFeatures` and `requiredAlignment` and write nothing.

    /// The code emitted so far, without the data section (which `finalize()` appends) and with unresolved
    /// fix-ups still zero.
    var code: [UInt8] = []
    /// Union of the CPU features of every instruction emitted.
    var requiredFeatures: X86.Features = []
    /// The final bytes must be loaded at an address that is a multiple of this, for `align(_:)` and the
    /// constants' alignments to hold in memory.
    var requiredAlignment = 1
    var listing: [ListingLine] = []
    private(set) var firstError: X86AssemblerError?
    let recordsListing: Bool

    struct Fixup: Sendable {
        let label: X86.Label
        /// Where the rel8/rel32 field is.
        let at: Int
        let size: Int
        let addend: Int
        /// End of the instruction, which rip-relative values are measured from; set once the instruction is done
        /// (an imm8 may follow a rip-relative displacement).
        var end: Int
    }

    struct Constant: Sendable {
        let label: X86.Label
        let bytes: [UInt8]
        let alignment: Int
    }

    private struct ConstantKey: Hashable, Sendable {
        let bytes: [UInt8]
        let alignment: Int
    }

    private let tag = UInt64.random(in: 1...UInt64.max)
    var labelOffsets: [Int?] = []
    private var constantLabels: Set<Int> = []
    var fixups: [Fixup] = []
    var constants: [Constant] = []
    private var constantsByContent: [ConstantKey: X86.Label] = [:]
    var finalizedBytes: [UInt8]?
    /// Listing text of the instruction being emitted, when its routine spells it specially.
    var spelling: String?
    /// AT&T size suffix of the instruction being emitted (`q` in `addq`).
    var suffix = ""

    /// - Parameter listing: record an AT&T listing line per instruction (costs a string per instruction).
    init(listing: Bool = false) {
        recordsListing = listing
    }

    var currentOffset: Int { code.count }

    /// The listing as one assembly source (labels at column 0, everything else indented).
    var listingText: String {
        listing.map { $0.kind == .label ? $0.text : "\t" + $0.text }.joined(separator: "\n") + "\n"
    }

    // MARK: Labels

    mutating func newLabel() -> X86.Label {
        labelOffsets.append(nil)
        return X86.Label(id: labelOffsets.count - 1, owner: tag)
    }

    /// Binds `label` to the current offset. Each label is bound at most once.
    mutating func bind(_ label: X86.Label) {
        guard finalizedBytes == nil else { return fail(.alreadyFinalized) }
        guard owns(label) else { return fail(.foreignLabel(offset: code.count)) }
        guard labelOffsets[label.id] == nil, !constantLabels.contains(label.id) else {
            return fail(.labelAlreadyBound(label: label.id))
        }
        labelOffsets[label.id] = code.count
        if recordsListing {
            listing.append(ListingLine(offset: code.count, length: 0, text: "\(label):", kind: .label))
        }
    }

    /// Offset of a bound label from the start of the code; constants' labels get theirs in `finalize()`.
    func offset(of label: X86.Label) -> Int? {
        owns(label) ? labelOffsets[label.id] : nil
    }

    func owns(_ label: X86.Label) -> Bool {
        label.owner == tag && label.id >= 0 && label.id < labelOffsets.count
    }

    // MARK: Alignment, raw bytes, data section

    /// Pads with multi-byte NOPs up to a multiple of `alignment` (a power of two, at most 4096), e.g. before a
    /// hot loop. Also raises `requiredAlignment`.
    mutating func align(_ alignment: Int) {
        guard finalizedBytes == nil else { return fail(.alreadyFinalized) }
        guard alignment > 0, alignment <= 4096, alignment & (alignment - 1) == 0 else {
            return fail(.invalidAlignment(alignment))
        }
        requiredAlignment = max(requiredAlignment, alignment)
        var padding = (alignment - code.count % alignment) % alignment
        while padding > 0 {
            let length = min(padding, X86Assembler.nops.count)
            let (bytes, text) = X86Assembler.nops[length - 1]
            if recordsListing {
                listing.append(ListingLine(offset: code.count, length: length, text: text, kind: .instruction))
            }
            code += bytes
            padding -= length
        }
    }

    /// The recommended NOP of each length 1…9 (Intel SDM vol. 2B, NOP) and its AT&T spelling; the pseudo
    /// prefixes make llvm-mc and GNU as pick the same displacement sizes.
    private static let nops: [([UInt8], String)] = [
        ([0x90], "nop"),
        ([0x66, 0x90], "xchgw %ax, %ax"),
        ([0x0F, 0x1F, 0x00], "nopl (%rax)"),
        ([0x0F, 0x1F, 0x40, 0x00], "{disp8} nopl (%rax)"),
        ([0x0F, 0x1F, 0x44, 0x00, 0x00], "{disp8} nopl (%rax,%rax)"),
        ([0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00], "{disp8} nopw (%rax,%rax)"),
        ([0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00], "{disp32} nopl (%rax)"),
        ([0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00], "{disp32} nopl (%rax,%rax)"),
        ([0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00], "{disp32} nopw (%rax,%rax)"),
    ]

    /// Appends raw bytes to the code (a hand-encoded instruction, a jump table, a marker).
    mutating func embed(_ bytes: [UInt8]) {
        guard finalizedBytes == nil else { return fail(.alreadyFinalized) }
        if recordsListing && !bytes.isEmpty {
            listing.append(
                ListingLine(offset: code.count, length: bytes.count, text: Self.byteDirective(bytes), kind: .directive))
        }
        code += bytes
    }

    /// Appends one instruction encoded elsewhere (X86Assembler+EVEX.swift): its bytes, the rip-relative
    /// reference in them (the disp32 at byte `at`, measured from the instruction's end, to `label` +
    /// `addend`) if any, and its listing line.
    mutating func appendInstruction(_ bytes: [UInt8], rip: (label: X86.Label, at: Int, addend: Int)?, text: String) {
        guard finalizedBytes == nil else { return fail(.alreadyFinalized) }
        let start = code.count
        if let rip {
            guard owns(rip.label) else { return fail(.foreignLabel(offset: start)) }
            fixups.append(
                Fixup(label: rip.label, at: start + rip.at, size: 4, addend: rip.addend, end: start + bytes.count))
        }
        code += bytes
        if recordsListing {
            listing.append(ListingLine(offset: start, length: bytes.count, text: text, kind: .instruction))
        }
    }

    /// A constant in the data section placed after the code by `finalize()`, at a multiple of `alignment`;
    /// reference it with `X86.ptr(label)`. Equal bytes with equal alignment share one copy.
    mutating func constant(bytes: [UInt8], alignment: Int = 32) -> X86.Label {
        guard finalizedBytes == nil else {
            fail(.alreadyFinalized)
            return newLabel()
        }
        guard alignment > 0, alignment <= 4096, alignment & (alignment - 1) == 0 else {
            fail(.invalidAlignment(alignment))
            return newLabel()
        }
        let key = ConstantKey(bytes: bytes, alignment: alignment)
        if let label = constantsByContent[key] { return label }
        let label = newLabel()
        constantLabels.insert(label.id)
        constants.append(Constant(label: label, bytes: bytes, alignment: alignment))
        constantsByContent[key] = label
        return label
    }

    mutating func constant(float32 values: [Float], alignment: Int = 32) -> X86.Label {
        constant(bytes: values.flatMap { Self.littleEndian(UInt64($0.bitPattern), 4) }, alignment: alignment)
    }

    mutating func constant(float64 values: [Double], alignment: Int = 32) -> X86.Label {
        constant(bytes: values.flatMap { Self.littleEndian($0.bitPattern, 8) }, alignment: alignment)
    }

    mutating func constant(int32 values: [Int32], alignment: Int = 32) -> X86.Label {
        constant(bytes: values.flatMap { Self.littleEndian(UInt64(UInt32(bitPattern: $0)), 4) }, alignment: alignment)
    }

    mutating func constant(int64 values: [Int64], alignment: Int = 32) -> X86.Label {
        constant(bytes: values.flatMap { Self.littleEndian(UInt64(bitPattern: $0), 8) }, alignment: alignment)
    }

    private static func littleEndian(_ value: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// Keeps the first error for `finalize()` to throw.
    mutating func fail(_ error: X86AssemblerError) {
        if firstError == nil { firstError = error }
    }
}
