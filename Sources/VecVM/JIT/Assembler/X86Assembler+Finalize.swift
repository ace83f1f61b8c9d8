// X86Assembler+Finalize.swift — the last step of assembling: the data section is laid out after the code
// (largest alignment first, int3 padding), every label gets its final offset, and each fix-up (a rel8/rel32
// branch or a rip-relative displacement) is written or reported out of range. Afterwards the assembler is frozen.

extension X86Assembler {
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
}
