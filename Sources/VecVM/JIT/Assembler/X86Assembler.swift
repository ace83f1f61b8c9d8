// X86Assembler.swift — the x86-64 assembler the JIT emits machine code with: a byte buffer, labels with fix-ups,
// alignment padding, a data section for constants reached rip-relative, an optional AT&T listing, and the few
// emit routines (one per encoding class of X86Encoding.swift) that turn table rows and operands into bytes.
// Instructions are emitted with `emit(.vaddps, .ymm(.ymm0), .ymm(.ymm1), .mem(m))`; the few typed shorthands of
// X86Assembler+GP.swift (`mov(_:_:)`, `add(_:_:)`, …) funnel into it too.
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

    /// The code emitted so far, without the data section (which `finalize()` appends) and with unresolved
    /// fix-ups still zero.
    private(set) var code: [UInt8] = []
    /// Union of the CPU features of every instruction emitted.
    private(set) var requiredFeatures: X86.Features = []
    /// The final bytes must be loaded at an address that is a multiple of this, for `align(_:)` and the
    /// constants' alignments to hold in memory.
    private(set) var requiredAlignment = 1
    private(set) var listing: [ListingLine] = []
    private(set) var firstError: X86AssemblerError?
    let recordsListing: Bool

    private struct Fixup: Sendable {
        let label: X86.Label
        /// Where the rel8/rel32 field is.
        let at: Int
        let size: Int
        let addend: Int
        /// End of the instruction, which rip-relative values are measured from; set once the instruction is done
        /// (an imm8 may follow a rip-relative displacement).
        var end: Int
    }

    private struct Constant: Sendable {
        let label: X86.Label
        let bytes: [UInt8]
        let alignment: Int
    }

    private struct ConstantKey: Hashable, Sendable {
        let bytes: [UInt8]
        let alignment: Int
    }

    private let tag = UInt64.random(in: 1...UInt64.max)
    private var labelOffsets: [Int?] = []
    private var constantLabels: Set<Int> = []
    private var fixups: [Fixup] = []
    private var constants: [Constant] = []
    private var constantsByContent: [ConstantKey: X86.Label] = [:]
    private var finalizedBytes: [UInt8]?
    /// Listing text of the instruction being emitted, when its routine spells it specially.
    private var spelling: String?
    /// AT&T size suffix of the instruction being emitted (`q` in `addq`).
    private var suffix = ""

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

    private func owns(_ label: X86.Label) -> Bool {
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

    private static func byteDirective(_ bytes: [UInt8]) -> String {
        ".byte " + bytes.map { "0x" + String($0, radix: 16) }.joined(separator: ", ")
    }

    // MARK: Finalize

    /// Appends the data section, resolves every label reference and returns the machine code. Throws the first
    /// error of any earlier call, an unbound label, or a displacement that does not fit. After success the
    /// assembler is frozen: later calls return the same bytes, and emitting is an error.
    mutating func finalize() throws(X86AssemblerError) -> [UInt8] {
        if let firstError { throw firstError }
        if let finalizedBytes { return finalizedBytes }
        var bytes = code
        var offsets = labelOffsets
        var lines: [ListingLine] = []
        var alignment = requiredAlignment
        // Largest alignment first, so that padding is paid about once; stable among equals for a readable dump.
        let order = constants.indices.sorted {
            (constants[$0].alignment, -$0) > (constants[$1].alignment, -$1)
        }
        for index in order {
            let constant = constants[index]
            let padding = (constant.alignment - bytes.count % constant.alignment) % constant.alignment
            if recordsListing {
                let power = constant.alignment.trailingZeroBitCount
                lines.append(
                    ListingLine(offset: bytes.count, length: padding, text: ".p2align \(power), 0xcc", kind: .directive)
                )
                lines.append(
                    ListingLine(offset: bytes.count + padding, length: 0, text: "\(constant.label):", kind: .label))
                for start in stride(from: 0, to: constant.bytes.count, by: 16) {
                    let chunk = Array(constant.bytes[start..<min(start + 16, constant.bytes.count)])
                    lines.append(
                        ListingLine(
                            offset: bytes.count + padding + start, length: chunk.count, text: Self.byteDirective(chunk),
                            kind: .directive))
                }
            }
            // int3 padding: a stray jump into it traps instead of sliding into the constants.
            bytes += repeatElement(0xCC, count: padding)
            offsets[constant.label.id] = bytes.count
            bytes += constant.bytes
            alignment = max(alignment, constant.alignment)
        }
        for fixup in fixups {
            guard let target = offsets[fixup.label.id] else {
                throw .unboundLabel(label: fixup.label.id, referencedAt: fixup.at)
            }
            let distance = target + fixup.addend - fixup.end
            if fixup.size == 1 {
                guard let value = Int8(exactly: distance) else {
                    throw .branchOutOfRange(label: fixup.label.id, at: fixup.at, distance: distance)
                }
                bytes[fixup.at] = UInt8(bitPattern: value)
            } else {
                guard let value = Int32(exactly: distance) else {
                    throw .displacementOutOfRange(label: fixup.label.id, at: fixup.at, distance: distance)
                }
                for i in 0..<4 { bytes[fixup.at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
            }
        }
        labelOffsets = offsets
        listing += lines
        requiredAlignment = alignment
        finalizedBytes = bytes
        return bytes
    }

    private mutating func fail(_ error: X86AssemblerError) {
        if firstError == nil { firstError = error }
    }
}

// MARK: - The table-driven emitter

extension X86Assembler {
    /// Emits one instruction from the table (`X86.Instruction.encoding`) with operands in Intel order.
    /// `condition` is required by jcc/setcc/cmovcc; `short` asks for a rel8 branch to a label that is not bound
    /// yet (a bound label within reach gets rel8 anyway). Misuse is recorded, not trapped; see `finalize()`.
    mutating func emit(
        _ instruction: X86.Instruction, _ o0: X86.Operand = .none, _ o1: X86.Operand = .none,
        _ o2: X86.Operand = .none, _ o3: X86.Operand = .none, condition: X86.Condition? = nil, short: Bool = false
    ) {
        guard finalizedBytes == nil else { return fail(.alreadyFinalized) }
        let start = code.count
        let fixupCount = fixups.count
        spelling = nil
        suffix = ""
        let operands = Operands(o0, o1, o2, o3)
        do throws(X86AssemblerError) {
            guard operands.isContiguous else {
                throw invalid(instruction, "operands must be given without gaps")
            }
            let features = try encode(instruction, operands, condition, short)
            requiredFeatures.formUnion(features)
        } catch {
            code.removeSubrange(start...)
            fixups.removeSubrange(fixupCount...)
            return fail(error)
        }
        for index in fixupCount..<fixups.count { fixups[index].end = code.count }
        if recordsListing {
            let text = spelling ?? format(instruction, operands)
            listing.append(ListingLine(offset: start, length: code.count - start, text: text, kind: .instruction))
        }
    }

    /// Up to four operands without an array allocation per instruction.
    fileprivate struct Operands {
        let o0, o1, o2, o3: X86.Operand

        init(_ o0: X86.Operand, _ o1: X86.Operand, _ o2: X86.Operand, _ o3: X86.Operand) {
            (self.o0, self.o1, self.o2, self.o3) = (o0, o1, o2, o3)
        }

        var count: Int { o0 == .none ? 0 : o1 == .none ? 1 : o2 == .none ? 2 : o3 == .none ? 3 : 4 }
        var isContiguous: Bool {
            let all = [o0, o1, o2, o3]
            return all.dropFirst(count).allSatisfy { $0 == .none }
        }
        subscript(index: Int) -> X86.Operand { [o0, o1, o2, o3][index] }
        var all: [X86.Operand] { Array([o0, o1, o2, o3].prefix(count)) }
    }

    /// The ModRM.rm operand: a register number or a memory operand.
    fileprivate enum RM {
        case register(UInt8)
        case memory(X86.Mem)
    }

    private func invalid(_ instruction: X86.Instruction, _ reason: String) -> X86AssemblerError {
        .invalidOperands(instruction: instruction.mnemonic, reason: reason, offset: code.count)
    }

    private mutating func encode(
        _ instruction: X86.Instruction, _ operands: Operands, _ condition: X86.Condition?, _ short: Bool
    ) throws(X86AssemblerError) -> X86.Features {
        let entry = instruction.encoding
        switch entry.form {
        case .gpALU: try encodeALU(instruction, entry, operands)
        case .gpTest: try encodeTest(instruction, operands)
        case .gpMov: try encodeMov(instruction, operands)
        case .gpMovabs: try encodeMovabs(instruction, entry, operands)
        case .gpRM, .gpCmovcc: try encodeRegisterFromRM(instruction, entry, operands, condition)
        case .gpIMul: try encodeIMul(instruction, entry, operands)
        case .gpExtend, .gpExtendDword: try encodeExtend(instruction, entry, operands)
        case .gpUnary: try encodeUnary(instruction, entry, operands)
        case .gpShift: try encodeShift(instruction, entry, operands)
        case .gpSetcc: try encodeSetcc(instruction, entry, operands, condition)
        case .gpJmp, .gpJcc, .gpCall: try encodeBranch(instruction, entry, operands, condition, short)
        case .gpPushPop: try encodePushPop(instruction, entry, operands)
        case .gpFixed: try encodeFixed(instruction, entry, operands)
        case .gpPrefetch: try encodePrefetch(instruction, entry, operands)
        default: return try encodeVEX(instruction, entry, operands)
        }
        return entry.features
    }
}

// MARK: - Bytes: prefixes, ModRM/SIB, immediates

extension X86Assembler {
    /// Checks `memory` and returns its REX/VEX X and B bits.
    private func checkedHighBits(_ rm: RM) throws(X86AssemblerError) -> (x: UInt8, b: UInt8) {
        guard case .memory(let memory) = rm else {
            if case .register(let number) = rm { return (0, number >> 3) }
            return (0, 0)
        }
        let problem = { (reason: String) in X86AssemblerError.invalidMemoryOperand(reason: reason, offset: code.count) }
        if let label = memory.label {
            guard memory.base == nil, memory.index == nil else {
                throw problem("a rip-relative operand cannot also have a base or index register")
            }
            guard owns(label) else { throw .foreignLabel(offset: code.count) }
            return (0, 0)
        }
        if let base = memory.base, base.width != .qword { throw problem("the base register must be 64-bit") }
        guard let index = memory.index else {
            guard memory.scale == 1 else { throw problem("a scale needs an index register") }
            return (0, memory.base?.high ?? 0)
        }
        guard index.width == .qword else { throw problem("the index register must be 64-bit") }
        // SIB.index 100 means "no index"; only with REX.X set (r12) is it a register.
        guard index.number != 4 else { throw problem("rsp cannot be an index register") }
        guard [1, 2, 4, 8].contains(memory.scale) else { throw problem("the scale must be 1, 2, 4 or 8") }
        return (index.high, memory.base?.high ?? 0)
    }

    /// Appends ModRM, SIB and displacement; `reg` is ModRM.reg (a register's low 3 bits or an opcode extension).
    /// Call only after `checkedHighBits`.
    private mutating func appendModRM(reg: UInt8, _ rm: RM) {
        let reg = (reg & 7) << 3
        switch rm {
        case .register(let number):
            code.append(0xC0 | reg | (number & 7))
        case .memory(let memory):
            if let label = memory.label {
                // mod 00, rm 101 is rip-relative in 64-bit mode.
                code.append(reg | 0b101)
                fixups.append(Fixup(label: label, at: code.count, size: 4, addend: Int(memory.displacement), end: 0))
                code += [0, 0, 0, 0]
                return
            }
            let scale = UInt8(memory.scale.trailingZeroBitCount) << 6
            let index = (memory.index?.low3 ?? 0b100) << 3
            guard let base = memory.base else {
                // No base: SIB with base 101 and mod 00 means disp32 only (rm 101 alone would be rip-relative).
                code += [reg | 0b100, scale | index | 0b101]
                appendLittleEndian(Int64(memory.displacement), size: 4)
                return
            }
            let displacement = memory.displacement
            // rbp/r13 (low bits 101) with mod 00 would mean rip/disp32, so they take an explicit disp8 of 0.
            let mod: UInt8 =
                displacement == 0 && base.low3 != 0b101 ? 0b00 : Int8(exactly: displacement) != nil ? 0b01 : 0b10
            if memory.index != nil || base.low3 == 0b100 {
                // rsp/r12 (low bits 100) in ModRM.rm means "a SIB follows", so they always need a SIB.
                code += [mod << 6 | reg | 0b100, scale | index | base.low3]
            } else {
                code.append(mod << 6 | reg | base.low3)
            }
            if mod == 0b01 { appendLittleEndian(Int64(displacement), size: 1) }
            if mod == 0b10 { appendLittleEndian(Int64(displacement), size: 4) }
        }
    }

    private mutating func appendLittleEndian(_ value: Int64, size: Int) {
        for i in 0..<size { code.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
    }

    /// A legacy (non-VEX) instruction: [66] [mandatory prefix] [REX] map opcode [ModRM…] [immediate].
    /// `width` decides 66 (word) and REX.W (qword); nil leaves the default operand size (push, jmp r/m).
    /// `plusRegister` is for the opcode+r forms, whose register goes into REX.B instead of ModRM.
    private mutating func legacy(
        width: X86.Width?, prefix: X86.Prefix = .none, map: X86.OpcodeMap = .legacy, opcode: UInt8,
        reg: UInt8 = 0, rm: RM? = nil, plusRegister: UInt8? = nil, byteRegisters: [X86.GPR] = [],
        immediate: Int64 = 0, immediateSize: Int = 0
    ) throws(X86AssemblerError) {
        var (x, b) = (UInt8(0), UInt8(0))
        if let rm { (x, b) = try checkedHighBits(rm) }
        if let plusRegister { b = plusRegister >> 3 }
        if width == .word { code.append(0x66) }
        if let byte = prefix.byte { code.append(byte) }
        let w: UInt8 = width == .qword ? 1 : 0
        let rex = w << 3 | (reg >> 3) << 2 | x << 1 | b
        // spl/bpl/sil/dil exist only with a REX prefix (without one, 4–7 mean ah/ch/dh/bh).
        if rex != 0 || byteRegisters.contains(where: \.needsREX) { code.append(0x40 | rex) }
        code += map.escape
        code.append(opcode + ((plusRegister ?? 0) & 7))
        if let rm { appendModRM(reg: reg, rm) }
        appendLittleEndian(immediate, size: immediateSize)
    }

    /// A VEX instruction: C5/C4 prefix, opcode, ModRM…, optional imm8.
    private mutating func vex(
        prefix: X86.Prefix, map: X86.OpcodeMap, opcode: UInt8, w: UInt8, l: UInt8, reg: UInt8, vvvv: UInt8,
        rm: RM?, imm8: UInt8? = nil
    ) throws(X86AssemblerError) {
        var (x, b) = (UInt8(0), UInt8(0))
        if let rm { (x, b) = try checkedHighBits(rm) }
        let r = reg >> 3
        let lowByte = (~vvvv & 0xF) << 3 | l << 2 | prefix.rawValue
        if x == 0 && b == 0 && w == 0 && map == .x0F {
            // The 2-byte form can only say R, vvvv, L, pp: X, B and W must be 0 and the map 0F.
            code += [0xC5, (r ^ 1) << 7 | lowByte]
        } else {
            code += [0xC4, (r ^ 1) << 7 | (x ^ 1) << 6 | (b ^ 1) << 5 | map.rawValue, w << 7 | lowByte]
        }
        code.append(opcode)
        if let rm { appendModRM(reg: reg, rm) }
        if let imm8 { code.append(imm8) }
    }

    /// The immediate as the signed `width`-bit value the CPU will see (what decides the imm8 short forms).
    /// Accepts signed or unsigned spellings up to 32 bits; a 64-bit operation takes a sign-extended imm32.
    private func immediate(
        _ value: Int64, _ width: X86.Width, _ instruction: X86.Instruction
    ) throws(X86AssemblerError) -> Int64 {
        let fits: Bool
        switch width {
        case .byte: fits = (-0x80...0xFF).contains(value)
        case .word: fits = (-0x8000...0xFFFF).contains(value)
        case .dword: fits = (-0x8000_0000...0xFFFF_FFFF).contains(value)
        default: fits = Int32(exactly: value) != nil
        }
        guard fits else {
            throw .immediateOutOfRange(instruction: instruction.mnemonic, value: value, offset: code.count)
        }
        switch width {
        case .byte: return Int64(Int8(truncatingIfNeeded: value))
        case .word: return Int64(Int16(truncatingIfNeeded: value))
        default: return Int64(Int32(truncatingIfNeeded: value))
        }
    }

    private func immediateSize(_ width: X86.Width) -> Int { min(Int(width.rawValue), 4) }

    /// Width of the r/m operand: the register's, or the memory operand's explicit one.
    private func width(
        of operand: X86.Operand, _ instruction: X86.Instruction
    ) throws(X86AssemblerError) -> X86.Width {
        switch operand {
        case .gpr(let register): return register.width
        case .mem(let memory):
            guard let width = memory.width, width.rawValue <= 8 else {
                throw invalid(instruction, "the memory operand needs a width (.byte, .word, .dword or .qword)")
            }
            return width
        default: throw invalid(instruction, "expected a general-purpose register or memory operand")
        }
    }

    private func rm(_ operand: X86.Operand) -> RM? {
        switch operand {
        case .gpr(let register): .register(register.number)
        case .xmm(let register): .register(register.number)
        case .ymm(let register): .register(register.number)
        case .mem(let memory): .memory(memory)
        default: nil
        }
    }

    private static func suffix(_ width: X86.Width) -> String {
        switch width {
        case .byte: "b"
        case .word: "w"
        case .dword: "l"
        default: "q"
        }
    }
}

// MARK: - General-purpose encoding classes

extension X86Assembler {
    private mutating func encodeALU(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        let group = entry.ext
        guard operands.count == 2 else { throw invalid(instruction, "takes two operands") }
        switch (operands.o0, operands.o1) {
        case (.gpr(let destination), .gpr(let source)):
            guard destination.width == source.width else { throw invalid(instruction, "operand widths differ") }
            let byte: UInt8 = destination.width == .byte ? 0 : 1
            try legacy(
                width: destination.width, opcode: group * 8 + byte, reg: source.number,
                rm: .register(destination.number), byteRegisters: [destination, source])
            suffix = Self.suffix(destination.width)
        case (.gpr(let destination), .mem(let memory)):
            try checkMemoryWidth(memory, destination.width, instruction)
            let byte: UInt8 = destination.width == .byte ? 0 : 1
            try legacy(
                width: destination.width, opcode: group * 8 + 2 + byte, reg: destination.number, rm: .memory(memory),
                byteRegisters: [destination])
            suffix = Self.suffix(destination.width)
        case (.mem(let memory), .gpr(let source)):
            try checkMemoryWidth(memory, source.width, instruction)
            let byte: UInt8 = source.width == .byte ? 0 : 1
            try legacy(
                width: source.width, opcode: group * 8 + byte, reg: source.number, rm: .memory(memory),
                byteRegisters: [source])
            suffix = Self.suffix(source.width)
        case (.gpr, .imm(let value)), (.mem, .imm(let value)):
            let width = try width(of: operands.o0, instruction)
            let imm = try immediate(value, width, instruction)
            let target = rm(operands.o0)!
            let accumulator = operands.o0 == .gpr(X86.GPR(number: 0, width: width)!)
            let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
            if width == .byte {
                if accumulator {
                    try legacy(width: width, opcode: group * 8 + 4, immediate: imm, immediateSize: 1)
                } else {
                    try legacy(
                        width: width, opcode: 0x80, reg: group, rm: target, byteRegisters: byteRegisters,
                        immediate: imm, immediateSize: 1)
                }
            } else if Int8(exactly: imm) != nil {
                try legacy(width: width, opcode: 0x83, reg: group, rm: target, immediate: imm, immediateSize: 1)
            } else if accumulator {
                // The accumulator form saves the ModRM byte; LLVM picks it too.
                try legacy(width: width, opcode: group * 8 + 5, immediate: imm, immediateSize: immediateSize(width))
            } else {
                try legacy(
                    width: width, opcode: 0x81, reg: group, rm: target, immediate: imm,
                    immediateSize: immediateSize(width))
            }
            suffix = Self.suffix(width)
        default:
            throw invalid(instruction, "expects (reg, reg), (reg, mem), (mem, reg), (reg, imm) or (mem, imm)")
        }
    }

    private func checkMemoryWidth(
        _ memory: X86.Mem, _ width: X86.Width, _ instruction: X86.Instruction
    ) throws(X86AssemblerError) {
        if let given = memory.width, given != width {
            throw invalid(instruction, "the memory operand's width differs from the register's")
        }
    }

    private mutating func encodeTest(_ instruction: X86.Instruction, _ operands: Operands) throws(X86AssemblerError) {
        guard operands.count == 2 else { throw invalid(instruction, "takes two operands") }
        switch (operands.o0, operands.o1) {
        case (.gpr, .gpr(let source)), (.mem, .gpr(let source)):
            if case .gpr(let destination) = operands.o0, destination.width != source.width {
                throw invalid(instruction, "operand widths differ")
            }
            if case .mem(let memory) = operands.o0 { try checkMemoryWidth(memory, source.width, instruction) }
            let byteRegisters: [X86.GPR] =
                if case .gpr(let register) = operands.o0 { [register, source] } else { [source] }
            try legacy(
                width: source.width, opcode: source.width == .byte ? 0x84 : 0x85, reg: source.number,
                rm: rm(operands.o0)!, byteRegisters: byteRegisters)
            suffix = Self.suffix(source.width)
        case (.gpr, .imm(let value)), (.mem, .imm(let value)):
            let width = try width(of: operands.o0, instruction)
            let imm = try immediate(value, width, instruction)
            let byte: UInt8 = width == .byte ? 0 : 1
            if operands.o0 == .gpr(X86.GPR(number: 0, width: width)!) {
                try legacy(width: width, opcode: 0xA8 + byte, immediate: imm, immediateSize: immediateSize(width))
            } else {
                let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
                try legacy(
                    width: width, opcode: 0xF6 + byte, reg: 0, rm: rm(operands.o0)!, byteRegisters: byteRegisters,
                    immediate: imm, immediateSize: immediateSize(width))
            }
            suffix = Self.suffix(width)
        default:
            throw invalid(instruction, "expects (reg, reg), (mem, reg), (reg, imm) or (mem, imm)")
        }
    }

    private mutating func encodeMov(_ instruction: X86.Instruction, _ operands: Operands) throws(X86AssemblerError) {
        guard operands.count == 2 else { throw invalid(instruction, "takes two operands") }
        switch (operands.o0, operands.o1) {
        case (.gpr(let destination), .gpr(let source)):
            guard destination.width == source.width else { throw invalid(instruction, "operand widths differ") }
            try legacy(
                width: source.width, opcode: source.width == .byte ? 0x88 : 0x89, reg: source.number,
                rm: .register(destination.number), byteRegisters: [destination, source])
            suffix = Self.suffix(source.width)
        case (.gpr(let destination), .mem(let memory)):
            try checkMemoryWidth(memory, destination.width, instruction)
            try legacy(
                width: destination.width, opcode: destination.width == .byte ? 0x8A : 0x8B,
                reg: destination.number, rm: .memory(memory), byteRegisters: [destination])
            suffix = Self.suffix(destination.width)
        case (.mem(let memory), .gpr(let source)):
            try checkMemoryWidth(memory, source.width, instruction)
            try legacy(
                width: source.width, opcode: source.width == .byte ? 0x88 : 0x89, reg: source.number,
                rm: .memory(memory), byteRegisters: [source])
            suffix = Self.suffix(source.width)
        case (.gpr(let destination), .imm(let value)):
            if destination.width == .qword {
                if (0...0xFFFF_FFFF).contains(value) {
                    // Writing the 32-bit register zero-extends: same result, no REX.W, 4-byte immediate.
                    try legacy(
                        width: .dword, opcode: 0xB8, plusRegister: destination.number, immediate: value,
                        immediateSize: 4)
                    if recordsListing { spelling = "movl $\(value), \(destination.r32)" }
                } else if Int32(exactly: value) != nil {
                    try legacy(
                        width: .qword, opcode: 0xC7, reg: 0, rm: .register(destination.number), immediate: value,
                        immediateSize: 4)
                    suffix = "q"
                } else {
                    try legacy(
                        width: .qword, opcode: 0xB8, plusRegister: destination.number, immediate: value,
                        immediateSize: 8)
                    if recordsListing { spelling = "movabsq $\(value), \(destination)" }
                }
                return
            }
            let imm = try immediate(value, destination.width, instruction)
            try legacy(
                width: destination.width, opcode: destination.width == .byte ? 0xB0 : 0xB8,
                plusRegister: destination.number, byteRegisters: [destination], immediate: imm,
                immediateSize: immediateSize(destination.width))
            suffix = Self.suffix(destination.width)
        case (.mem(let memory), .imm(let value)):
            let width = try width(of: .mem(memory), instruction)
            let imm = try immediate(value, width, instruction)
            try legacy(
                width: width, opcode: width == .byte ? 0xC6 : 0xC7, reg: 0, rm: .memory(memory), immediate: imm,
                immediateSize: immediateSize(width))
            suffix = Self.suffix(width)
        default:
            throw invalid(instruction, "expects (reg, reg), (reg, mem), (mem, reg), (reg, imm) or (mem, imm)")
        }
    }

    private mutating func encodeMovabs(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 2, case .gpr(let destination) = operands.o0, destination.width == .qword,
            case .imm(let value) = operands.o1
        else { throw invalid(instruction, "expects (64-bit reg, imm64)") }
        try legacy(
            width: .qword, opcode: entry.opcode, plusRegister: destination.number, immediate: value, immediateSize: 8)
        suffix = "q"
    }

    /// reg ← r/m: lea, popcnt/tzcnt/lzcnt, cmovcc.
    private mutating func encodeRegisterFromRM(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands, _ condition: X86.Condition?
    ) throws(X86AssemblerError) {
        guard operands.count == 2, case .gpr(let destination) = operands.o0, destination.width != .byte,
            let source = rm(operands.o1), !operands.o1.isVector
        else { throw invalid(instruction, "expects (16/32/64-bit reg, reg or mem)") }
        if case .gpr(let register) = operands.o1, register.width != destination.width {
            throw invalid(instruction, "operand widths differ")
        }
        if entry.flags.contains(.memoryOnly), case .register = source {
            throw invalid(instruction, "the source must be a memory operand")
        }
        var opcode = entry.opcode
        if entry.form == .gpCmovcc {
            guard let condition else { throw invalid(instruction, "needs a condition") }
            opcode += condition.rawValue
            if recordsListing { suffix = condition.suffix + Self.suffix(destination.width) }
        } else {
            suffix = Self.suffix(destination.width)
        }
        try legacy(
            width: destination.width, prefix: entry.prefix, map: entry.map, opcode: opcode, reg: destination.number,
            rm: source)
        if entry.form == .gpCmovcc && recordsListing {
            spelling = "cmov\(suffix) \(Self.att(operands.o1)), \(destination)"
        }
    }

    private mutating func encodeIMul(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        if operands.count == 1 {
            // imul r/m: rdx:rax = rax * r/m, signed, in the F7 group as mul is (F7 /5; F6 /5 for a byte).
            try encodeUnary(instruction, operands, opcode: 0xF7, ext: 5)
            return
        }
        guard operands.count == 2 || operands.count == 3, case .gpr(let destination) = operands.o0,
            destination.width != .byte, let source = rm(operands.o1), !operands.o1.isVector
        else { throw invalid(instruction, "expects (16/32/64-bit reg, reg or mem[, imm])") }
        if case .gpr(let register) = operands.o1, register.width != destination.width {
            throw invalid(instruction, "operand widths differ")
        }
        suffix = Self.suffix(destination.width)
        if operands.count == 2 {
            try legacy(
                width: destination.width, map: entry.map, opcode: entry.opcode, reg: destination.number, rm: source)
            return
        }
        guard case .imm(let value) = operands.o2 else {
            throw invalid(instruction, "the third operand must be an immediate")
        }
        let imm = try immediate(value, destination.width, instruction)
        let short = Int8(exactly: imm) != nil
        try legacy(
            width: destination.width, opcode: short ? entry.opcode2 : entry.opcode2 - 2, reg: destination.number,
            rm: source, immediate: imm, immediateSize: short ? 1 : immediateSize(destination.width))
    }

    /// movzx/movsx (source byte or word) and movsxd (source dword).
    private mutating func encodeExtend(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 2, case .gpr(let destination) = operands.o0, let source = rm(operands.o1),
            !operands.o1.isVector
        else { throw invalid(instruction, "expects (reg, reg or mem)") }
        // movsxd's source can only be a dword, so an unsized memory operand is unambiguous.
        let sourceWidth =
            entry.form == .gpExtendDword && operands.o1.memoryValue?.width == nil
            ? .dword : try width(of: operands.o1, instruction)
        let sourceRegisters: [X86.GPR] = if case .gpr(let register) = operands.o1 { [register] } else { [] }
        if entry.form == .gpExtendDword {
            guard destination.width == .qword, sourceWidth == .dword else {
                throw invalid(instruction, "extends a 32-bit source into a 64-bit register")
            }
            try legacy(width: .qword, opcode: entry.opcode, reg: destination.number, rm: source)
            if recordsListing { spelling = "movslq \(Self.att(operands.o1)), \(destination)" }
            return
        }
        guard sourceWidth == .byte || sourceWidth == .word, destination.width.rawValue > sourceWidth.rawValue else {
            throw invalid(instruction, "extends a byte or word source into a wider register")
        }
        try legacy(
            width: destination.width, map: entry.map, opcode: entry.opcode + (sourceWidth == .word ? 1 : 0),
            reg: destination.number, rm: source, byteRegisters: sourceRegisters)
        if recordsListing {
            let stem = instruction == .movzx ? "movz" : "movs"
            spelling =
                stem + Self.suffix(sourceWidth) + Self.suffix(destination.width)
                + " \(Self.att(operands.o1)), \(destination)"
        }
    }

    private mutating func encodeUnary(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        try encodeUnary(instruction, operands, opcode: entry.opcode, ext: entry.ext)
    }

    /// One register or memory operand in the ModRM.reg extension `ext` of `opcode` (its byte form
    /// at `opcode - 1`: FE/FF, F6/F7).
    private mutating func encodeUnary(
        _ instruction: X86.Instruction, _ operands: Operands, opcode: UInt8, ext: UInt8
    ) throws(X86AssemblerError) {
        guard operands.count == 1, let target = rm(operands.o0), !operands.o0.isVector else {
            throw invalid(instruction, "expects one register or memory operand")
        }
        let width = try width(of: operands.o0, instruction)
        let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
        try legacy(
            width: width, opcode: width == .byte ? opcode - 1 : opcode, reg: ext, rm: target,
            byteRegisters: byteRegisters)
        suffix = Self.suffix(width)
    }

    private mutating func encodeShift(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 2, let target = rm(operands.o0), !operands.o0.isVector else {
            throw invalid(instruction, "expects (reg or mem, imm or cl)")
        }
        let width = try width(of: operands.o0, instruction)
        let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
        let byte: UInt8 = width == .byte ? 0 : 1
        suffix = Self.suffix(width)
        switch operands.o1 {
        case .imm(1):
            try legacy(width: width, opcode: 0xD0 + byte, reg: entry.ext, rm: target, byteRegisters: byteRegisters)
            // LLVM spells the by-one form without its implicit count.
            if recordsListing { spelling = "\(instruction.mnemonic)\(suffix) \(Self.att(operands.o0))" }
        case .imm(let count):
            guard (0..<Int64(width.bits)).contains(count) else {
                throw .immediateOutOfRange(instruction: instruction.mnemonic, value: count, offset: code.count)
            }
            try legacy(
                width: width, opcode: 0xC0 + byte, reg: entry.ext, rm: target, byteRegisters: byteRegisters,
                immediate: count, immediateSize: 1)
        case .gpr(.cl):
            try legacy(width: width, opcode: 0xD2 + byte, reg: entry.ext, rm: target, byteRegisters: byteRegisters)
        default:
            throw invalid(instruction, "the count must be an immediate or cl")
        }
    }

    private mutating func encodeSetcc(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands, _ condition: X86.Condition?
    ) throws(X86AssemblerError) {
        guard let condition else { throw invalid(instruction, "needs a condition") }
        guard operands.count == 1, let target = rm(operands.o0), !operands.o0.isVector,
            (try? width(of: operands.o0, instruction)) ?? .byte == .byte
        else { throw invalid(instruction, "expects a byte register or memory operand") }
        let byteRegisters: [X86.GPR] = if case .gpr(let register) = operands.o0 { [register] } else { [] }
        try legacy(
            width: nil, map: entry.map, opcode: entry.opcode + condition.rawValue, reg: 0, rm: target,
            byteRegisters: byteRegisters)
        if recordsListing { spelling = "set\(condition.suffix) \(Self.att(operands.o0))" }
    }

    private mutating func encodeBranch(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands, _ condition: X86.Condition?,
        _ short: Bool
    ) throws(X86AssemblerError) {
        guard operands.count == 1 else { throw invalid(instruction, "takes one operand") }
        if entry.form == .gpJcc && condition == nil { throw invalid(instruction, "needs a condition") }
        // Only for the listing: the mnemonic is String(describing:) of the case, some 17,000
        // instructions, which every branch paid before.
        var name: String { condition.map { "j" + $0.suffix } ?? instruction.mnemonic }
        guard case .label(let label) = operands.o0 else {
            // Indirect: FF /4 (jmp) or FF /2 (call); 64-bit operand size is the default, no REX.W.
            guard entry.form != .gpJcc, let target = rm(operands.o0), !operands.o0.isVector,
                (try? width(of: operands.o0, instruction)) ?? .qword == .qword
            else { throw invalid(instruction, "expects a label, or a 64-bit register or memory operand") }
            try legacy(width: nil, opcode: 0xFF, reg: entry.form == .gpJmp ? 4 : 2, rm: target)
            if recordsListing { spelling = "\(name)q *\(Self.att(operands.o0))" }
            return
        }
        guard owns(label) else { throw .foreignLabel(offset: code.count) }
        let shortOpcode: [UInt8]
        let longOpcode: [UInt8]
        switch entry.form {
        case .gpJmp: (shortOpcode, longOpcode) = ([0xEB], [0xE9])
        case .gpJcc: (shortOpcode, longOpcode) = ([0x70 + condition!.rawValue], [0x0F, 0x80 + condition!.rawValue])
        default: (shortOpcode, longOpcode) = ([], [0xE8])
        }
        var useShort = short && !shortOpcode.isEmpty
        if let target = labelOffsets[label.id], !shortOpcode.isEmpty {
            let distance = target - (code.count + 2)
            if Int8(exactly: distance) != nil {
                useShort = true
            } else if short {
                throw .branchOutOfRange(label: label.id, at: code.count + 1, distance: distance)
            }
        }
        if useShort {
            code += shortOpcode
            fixups.append(Fixup(label: label, at: code.count, size: 1, addend: 0, end: 0))
            code.append(0)
        } else {
            code += longOpcode
            fixups.append(Fixup(label: label, at: code.count, size: 4, addend: 0, end: 0))
            code += [0, 0, 0, 0]
        }
        if recordsListing {
            // {disp32} keeps llvm-mc/GNU as from relaxing to rel8 what this assembler emitted as rel32.
            let pseudoPrefix = !useShort && !shortOpcode.isEmpty ? "{disp32} " : ""
            spelling = pseudoPrefix + (entry.form == .gpCall ? "callq" : name) + " \(label)"
        }
    }

    private mutating func encodePushPop(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 1, case .gpr(let register) = operands.o0, register.width == .qword else {
            throw invalid(instruction, "expects a 64-bit register")
        }
        try legacy(width: nil, opcode: entry.opcode, plusRegister: register.number)
        suffix = "q"
    }

    private mutating func encodeFixed(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 0 else { throw invalid(instruction, "takes no operands") }
        try legacy(width: entry.w == .w1 ? .qword : nil, prefix: entry.prefix, map: entry.map, opcode: entry.opcode)
        if entry.ext != 0 { code.append(entry.ext) }
        if recordsListing {
            switch instruction {
            case .ret: spelling = "retq"
            case .cqo: spelling = "cqto"
            case .cdq: spelling = "cltd"
            default: break
            }
        }
    }

    private mutating func encodePrefetch(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) {
        guard operands.count == 1, case .mem(let memory) = operands.o0 else {
            throw invalid(instruction, "expects a memory operand")
        }
        try legacy(width: nil, map: entry.map, opcode: entry.opcode, reg: entry.ext, rm: .memory(memory))
    }
}

// MARK: - VEX encoding classes

extension X86Assembler {
    private mutating func encodeVEX(
        _ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands
    ) throws(X86AssemblerError) -> X86.Features {
        var entry = entry
        let all = operands.all
        // GPR operands only where the instruction moves between the register files.
        let takesGPR = entry.w == .fromGPR || entry.flags.contains(.dwordDestination) || instruction == .vmovq
        if !takesGPR, all.contains(where: \.isGPR) {
            throw invalid(instruction, "does not take general-purpose registers")
        }
        if all.contains(where: { $0.gprValue.map { $0.width != .dword && $0.width != .qword } ?? false }) {
            throw invalid(instruction, "takes 32- or 64-bit general-purpose registers")
        }
        if instruction == .vmovq, all.contains(where: \.isGPR) {
            // vmovq between an XMM and a GPR is vmovd's encoding with W=1.
            guard all.allSatisfy({ $0.gprValue.map { $0.width == .qword } ?? true }) else {
                throw invalid(instruction, "moves to or from a 64-bit register")
            }
            entry = X86.Instruction.vmovd.encoding
        } else if instruction == .vmovd, let register = all.lazy.compactMap(\.gprValue).first,
            register.width != .dword
        {
            throw invalid(instruction, "moves to or from a 32-bit register (vmovq for 64-bit)")
        }

        let l: UInt8 =
            switch entry.l {
            case .l1: 1
            case .fromOperands: all.contains(where: \.isWide) ? 1 : 0
            default: 0
            }
        let w: UInt8 =
            switch entry.w {
            case .w1: 1
            case .fromGPR:
                // The GPR's width; for vcvtsi2ss/sd a memory source's width stands in for the GPR's.
                if let register = all.lazy.compactMap(\.gprValue).first {
                    register.width == .qword ? 1 : 0
                } else if entry.flags.contains(.memorySuffix) {
                    all.contains(where: { $0.memoryValue?.width == .qword }) ? 1 : 0
                } else {
                    0
                }
            default: 0
            }
        if entry.w == .fromGPR && entry.flags.contains(.memorySuffix), let memory = operands.o2.memoryValue,
            memory.width != .dword && memory.width != .qword
        {
            throw invalid(instruction, "the memory source needs a width (.dword or .qword)")
        }
        if entry.flags.contains(.memoryOnly), !all.contains(where: { $0.memoryValue != nil }) {
            throw invalid(instruction, "needs a memory operand")
        }

        let prefix = entry.prefix
        let map = entry.map
        func register(_ operand: X86.Operand) throws(X86AssemblerError) -> UInt8 {
            guard let number = operand.registerNumber else {
                throw invalid(instruction, "expected a register operand")
            }
            return number
        }
        func vector(_ operand: X86.Operand) throws(X86AssemblerError) -> UInt8 {
            guard operand.isVector, let number = operand.registerNumber else {
                throw invalid(instruction, "expected an XMM or YMM register")
            }
            return number
        }
        func source(_ operand: X86.Operand) throws(X86AssemblerError) -> RM {
            guard operand != .none, !operand.isImmediate, let value = rm(operand) else {
                throw invalid(instruction, "expected a register or memory operand")
            }
            return value
        }
        func imm8(_ operand: X86.Operand) throws(X86AssemblerError) -> UInt8 {
            guard case .imm(let value) = operand else { throw invalid(instruction, "expected an 8-bit immediate") }
            guard (-0x80...0xFF).contains(value) else {
                throw .immediateOutOfRange(instruction: instruction.mnemonic, value: value, offset: code.count)
            }
            return UInt8(truncatingIfNeeded: value)
        }
        func expect(_ count: Int) throws(X86AssemblerError) {
            guard operands.count == count else { throw invalid(instruction, "takes \(count) operands") }
        }

        switch entry.form {
        case .vexRVM:
            try expect(3)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: register(operands.o0),
                vvvv: vector(operands.o1), rm: source(operands.o2))
        case .vexRM:
            try expect(2)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: register(operands.o0), vvvv: 0,
                rm: source(operands.o1))
        case .vexMR:
            try expect(2)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: register(operands.o1), vvvv: 0,
                rm: source(operands.o0))
        case .vexMov:
            try expect(2)
            let toMemoryOrGPR = operands.o0.memoryValue != nil || operands.o0.isGPR
            let fromMemoryOrGPR = operands.o1.memoryValue != nil || operands.o1.isGPR
            if (instruction == .vmovd || entry.w == .fromGPR) && toMemoryOrGPR == fromMemoryOrGPR {
                throw invalid(instruction, "moves between an XMM register and a GPR or memory")
            }
            let swap =
                !fromMemoryOrGPR && entry.flags.contains(.swappable) && (operands.o0.registerNumber ?? 0) < 8
                && (operands.o1.registerNumber ?? 0) >= 8
            if toMemoryOrGPR || swap {
                try vex(
                    prefix: entry.prefix2 ?? prefix, map: map, opcode: entry.opcode2, w: w, l: l,
                    reg: vector(operands.o1), vvvv: 0, rm: source(operands.o0))
            } else {
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0), vvvv: 0,
                    rm: source(operands.o1))
            }
        case .vexMovScalar:
            if operands.count == 3 {
                let (destination, merged, moved) = try (vector(operands.o0), vector(operands.o1), vector(operands.o2))
                if destination < 8 && moved >= 8 {
                    try vex(
                        prefix: prefix, map: map, opcode: entry.opcode2, w: w, l: l, reg: moved, vvvv: merged,
                        rm: .register(destination))
                } else {
                    try vex(
                        prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: destination, vvvv: merged,
                        rm: .register(moved))
                }
            } else {
                try expect(2)
                if let memory = operands.o0.memoryValue {
                    try vex(
                        prefix: prefix, map: map, opcode: entry.opcode2, w: w, l: l, reg: vector(operands.o1),
                        vvvv: 0, rm: .memory(memory))
                } else if let memory = operands.o1.memoryValue {
                    try vex(
                        prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                        vvvv: 0, rm: .memory(memory))
                } else {
                    throw invalid(instruction, "expects (xmm, mem), (mem, xmm) or (xmm, xmm, xmm)")
                }
            }
        case .vexRVMI:
            try expect(4)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                vvvv: vector(operands.o1), rm: source(operands.o2), imm8: imm8(operands.o3))
        case .vexRMI:
            try expect(3)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0), vvvv: 0,
                rm: source(operands.o1), imm8: imm8(operands.o2))
        case .vexMRI:
            try expect(3)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o1), vvvv: 0,
                rm: source(operands.o0), imm8: imm8(operands.o2))
        case .vexRVMR:
            try expect(4)
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                vvvv: vector(operands.o1), rm: source(operands.o2), imm8: vector(operands.o3) << 4)
        case .vexMaskMov:
            try expect(3)
            if let memory = operands.o0.memoryValue {
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode2, w: w, l: l, reg: vector(operands.o2),
                    vvvv: vector(operands.o1), rm: .memory(memory))
            } else if let memory = operands.o2.memoryValue {
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                    vvvv: vector(operands.o1), rm: .memory(memory))
            } else {
                throw invalid(instruction, "expects (reg, mask, mem) or (mem, mask, reg)")
            }
        case .vexShift:
            try expect(3)
            if case .imm = operands.o2 {
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode2, w: w, l: l, reg: entry.ext,
                    vvvv: vector(operands.o0), rm: .register(vector(operands.o1)), imm8: imm8(operands.o2))
            } else {
                if case .ymm = operands.o2 { throw invalid(instruction, "the shift count is an XMM register") }
                try vex(
                    prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: vector(operands.o0),
                    vvvv: vector(operands.o1), rm: source(operands.o2))
            }
        case .vexM:
            try expect(1)
            guard let memory = operands.o0.memoryValue else { throw invalid(instruction, "expects a memory operand") }
            try vex(
                prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: entry.ext, vvvv: 0, rm: .memory(memory)
            )
        case .vexNone:
            try expect(0)
            try vex(prefix: prefix, map: map, opcode: entry.opcode, w: w, l: l, reg: 0, vvvv: 0, rm: nil)
        default:
            throw invalid(instruction, "is not a VEX instruction")
        }

        if recordsListing { spelling = vexSpelling(instruction, entry, operands) }
        var features = entry.features
        if entry.flags.contains(.ymmNeedsAVX2) && l == 1 { features.insert(.avx2) }
        if entry.flags.contains(.registerSourceNeedsAVX2) && operands.o1.isVector { features.insert(.avx2) }
        return features
    }

    /// The AT&T spelling of VEX instructions whose mnemonic depends on the operands.
    private func vexSpelling(_ instruction: X86.Instruction, _ entry: X86.Encoding, _ operands: Operands) -> String? {
        var mnemonic = instruction.mnemonic
        var shown = operands.all
        if entry.flags.contains(.comparePredicate), case .imm(let value) = operands.o3,
            let predicate = X86.ComparePredicate(rawValue: UInt8(truncatingIfNeeded: value)), value < 32
        {
            mnemonic = "vcmp" + predicate.attName + mnemonic.dropFirst(4)
            shown.removeLast()
        } else if entry.flags.contains(.memorySuffix), let memory = shown.lazy.compactMap(\.memoryValue).first {
            switch memory.width {
            case .xmmword: mnemonic += "x"
            case .ymmword: mnemonic += "y"
            case .dword: mnemonic += "l"
            case .qword: mnemonic += "q"
            default: break
            }
        } else if entry.flags.contains(.dwordDestination), let register = operands.o0.gprValue {
            shown[0] = .gpr(register.r32)
        } else {
            return nil
        }
        return mnemonic + " " + shown.reversed().map(Self.att).joined(separator: ", ")
    }
}

// MARK: - Listing

extension X86Assembler {
    /// Default AT&T spelling: mnemonic plus size suffix, operands reversed.
    private func format(_ instruction: X86.Instruction, _ operands: Operands) -> String {
        let mnemonic = instruction.mnemonic + suffix
        let all = operands.all
        return all.isEmpty ? mnemonic : mnemonic + " " + all.reversed().map(Self.att).joined(separator: ", ")
    }

    static func att(_ operand: X86.Operand) -> String {
        switch operand {
        case .none: return ""
        case .gpr(let register): return register.description
        case .xmm(let register): return register.description
        case .ymm(let register): return register.description
        case .imm(let value): return "$\(value)"
        case .label(let label): return label.description
        case .mem(let memory):
            let displacement = Int(memory.displacement)
            if let label = memory.label {
                let offset = displacement > 0 ? "+\(displacement)" : displacement < 0 ? "\(displacement)" : ""
                return "\(label)\(offset)(%rip)"
            }
            guard memory.base != nil || memory.index != nil else { return "\(displacement)" }
            var text = displacement != 0 ? "\(displacement)(" : "("
            if let base = memory.base { text += base.description }
            if let index = memory.index {
                text += ",\(index)"
                if memory.scale != 1 { text += ",\(memory.scale)" }
            }
            return text + ")"
        }
    }
}

extension X86.Operand {
    fileprivate var isGPR: Bool { if case .gpr = self { true } else { false } }
    fileprivate var isImmediate: Bool { if case .imm = self { true } else { false } }
    fileprivate var isVector: Bool {
        switch self {
        case .xmm, .ymm: true
        default: false
        }
    }
    /// A YMM register or a 32-byte memory operand: what sets VEX.L for instructions of either length.
    fileprivate var isWide: Bool {
        switch self {
        case .ymm: true
        case .mem(let memory): memory.width == .ymmword
        default: false
        }
    }
    fileprivate var gprValue: X86.GPR? { if case .gpr(let register) = self { register } else { nil } }
    fileprivate var memoryValue: X86.Mem? { if case .mem(let memory) = self { memory } else { nil } }
    fileprivate var registerNumber: UInt8? {
        switch self {
        case .gpr(let register): register.number
        case .xmm(let register): register.number
        case .ymm(let register): register.number
        default: nil
        }
    }
}
