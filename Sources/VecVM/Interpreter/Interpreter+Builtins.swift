// The interpreter's less frequent instructions (see Interpreter.swift): array allocation under the
// memory limit, and `slowInstruction` (bool elements, slices, array literals, builtins, strings),
// kept out of the dispatch loop.

import CJITStubs
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Interpreter {
    // MARK: Arrays, strings, builtins

    static func allocateArray(_ count: Int, _ kind: ElementKind, _ ctx: ExecutionContext, zeroed: Bool = false)
        throws(Trap) -> VMArray
    {
        do {
            return try VMArray.allocate(count: count, kind: kind, account: ctx.memory, zeroed: zeroed)
        } catch {
            throw Trap("out of memory (an array of \(count) \(kind.name) elements)")
        }
    }

    @inline(never)
    static func slowInstruction(
        _ w: UInt64, _ entry: UnsafePointer<FunctionEntry>, _ regs: UnsafeMutablePointer<UInt64>,
        _ objs: UnsafeMutablePointer<AnyObject?>, _ ctx: ExecutionContext
    ) throws(Trap) {
        let a = fieldA(w)
        let b = fieldB(w)
        let c = fieldC(w)
        switch unsafeBitCast(UInt8(truncatingIfNeeded: w), to: Opcode.self) {
        case .checkLengths:
            // The same message as a kernel's own check, at the fused let's place.
            var count = -1
            for r in a..<(a + b) {
                let n = unsafeDowncast(objs[r]!, to: VMArray.self).count
                if count >= 0 && n != count { throw Trap("array length mismatch: \(count) vs \(n)") }
                count = n
            }
        case .getBool:
            let arr = unsafeDowncast(objs[b]!, to: VMArray.self)
            let i = Int64(bitPattern: regs[c])
            guard UInt64(bitPattern: i) < UInt64(arr.count) else { throw Trap(indexError(arr, i)) }
            regs[a] = arr.bits(Int(i))
        case .setBool:
            let arr = unsafeDowncast(objs[a]!, to: VMArray.self)
            let i = Int64(bitPattern: regs[b])
            guard UInt64(bitPattern: i) < UInt64(arr.count) else { throw Trap(indexError(arr, i)) }
            arr.setBits(Int(i), regs[c])
        case .slice:
            let arr = unsafeDowncast(objs[b]!, to: VMArray.self)
            let lo = Int64(bitPattern: regs[c])
            let hi = Int64(bitPattern: regs[c + 1])
            guard lo >= 0, lo <= hi, hi <= Int64(arr.count) else {
                throw Trap("slice \(lo)..\(hi) out of bounds for array of length \(arr.count)")
            }
            let n = Int(hi - lo)
            let out = try allocateArray(n, arr.kind, ctx)
            out.data.copyMemory(from: arr.data + Int(lo) * arr.kind.size, byteCount: n * arr.kind.size)
            objs[a] = out
        case .arrayLiteral:
            let kind = ElementKind(rawValue: UInt8(fieldK(w))) ?? .int
            let out = try allocateArray(c, kind, ctx)
            for i in 0..<c { out.setBits(i, regs[b + i]) }
            objs[a] = out
        case .builtin:
            switch BuiltinOp(rawValue: UInt8(fieldK(w))) ?? .iota {
            case .iota:
                let n = Int64(bitPattern: regs[b])
                if n < 0 { throw Trap("iota of a negative count (\(n))") }
                let out = try allocateArray(Int(n), .int, ctx)
                let p = out.data.assumingMemoryBound(to: Int64.self)
                for i in 0..<Int(n) { p[i] = Int64(i) }
                objs[a] = out
            case .fill:
                let n = Int64(bitPattern: regs[b])
                if n < 0 { throw Trap("fill of a negative count (\(n))") }
                let kind = ElementKind(rawValue: UInt8(c)) ?? .int
                let out = try allocateArray(Int(n), kind, ctx)
                let v = regs[b + 1]
                switch kind {
                case .f32:
                    out.data.assumingMemoryBound(to: UInt32.self).initialize(
                        repeating: UInt32(truncatingIfNeeded: v), count: Int(n))
                case .bool: out.data.initializeMemory(as: UInt8.self, repeating: v != 0 ? 1 : 0, count: Int(n))
                case .int, .float: out.data.assumingMemoryBound(to: UInt64.self).initialize(repeating: v, count: Int(n))
                }
                objs[a] = out
            case .convertArray:
                let src = unsafeDowncast(objs[b]!, to: VMArray.self)
                let to = ElementKind(rawValue: UInt8(c & 15)) ?? .int
                let out = try allocateArray(src.count, to, ctx)
                convertArray(src, out)
                objs[a] = out
            case .lengthStr:
                regs[a] = UInt64((objs[b] as? VMString)?.value.count ?? 0)
            }
        case .concat:
            let x = (objs[b] as? VMString)?.value ?? ""
            let y = (objs[c] as? VMString)?.value ?? ""
            // Refused before it is built: `s = s + s` in a loop must stop at the limit, not after.
            try VMString.admit(utf8Count: x.utf8.count + y.utf8.count, ctx.memory)
            objs[a] = try VMString.make(x + y, ctx.memory)
        case .format:
            let t = entry.pointee.function._withUnsafeGuaranteedRef { $0.types[c] }
            objs[a] = try VMString.make(ValueFormatter.value(regs, objs, b, t), ctx.memory)
        default:
            throw Trap(
                "instruction \(Opcode(rawValue: UInt8(truncatingIfNeeded: w))?.name ?? "?") is not supported here")
        }
    }

    private static func convertArray(_ src: VMArray, _ out: VMArray) {
        let n = src.count
        switch (src.kind, out.kind) {
        case (.int, .float):
            let s = src.data.assumingMemoryBound(to: Int64.self)
            let d = out.data.assumingMemoryBound(to: Double.self)
            for i in 0..<n { d[i] = Double(s[i]) }
        case (.int, .f32):
            let s = src.data.assumingMemoryBound(to: Int64.self)
            let d = out.data.assumingMemoryBound(to: Float.self)
            for i in 0..<n { d[i] = Float(s[i]) }
        case (.float, .int):
            let s = src.data.assumingMemoryBound(to: Double.self)
            let d = out.data.assumingMemoryBound(to: Int64.self)
            for i in 0..<n { d[i] = truncateToInt(s[i]) }
        case (.float, .f32):
            let s = src.data.assumingMemoryBound(to: Double.self)
            let d = out.data.assumingMemoryBound(to: Float.self)
            for i in 0..<n { d[i] = Float(s[i]) }
        case (.f32, .int):
            let s = src.data.assumingMemoryBound(to: Float.self)
            let d = out.data.assumingMemoryBound(to: Int64.self)
            for i in 0..<n { d[i] = truncateToInt(Double(s[i])) }
        case (.f32, .float):
            let s = src.data.assumingMemoryBound(to: Float.self)
            let d = out.data.assumingMemoryBound(to: Double.self)
            for i in 0..<n { d[i] = Double(s[i]) }
        default:
            out.data.copyMemory(from: src.data, byteCount: n * src.kind.size)
        }
    }
}
