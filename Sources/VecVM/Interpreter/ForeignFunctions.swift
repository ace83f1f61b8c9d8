// `extern fn` (LANGUAGE.md, "Foreign functions"): C functions of shared libraries, bound when the
// program is compiled (a library or symbol that cannot be found is a compile error at the
// declaration) and called through libffi. `int` is int64_t, `float` double, `f32` float, and an array
// is a pointer to its first element (the callee may write through it; it must not keep it, nor write
// past the array's length).

import CFFI
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A bound C function with its prepared libffi call interface.
/// - Note: the cif, the argument type array and the description are allocated once and freed with
///   the function (a program that calls it keeps it alive); libraries are never unloaded.
///
/// C code runs outside the VM's sandbox: its memory is not charged to the memory limit, a fuel or
/// time limit cannot interrupt it, and a crash in it ends the process (the CLI's crash report names
/// the function: `ForeignCall`). While it runs, its thread gets no preemption signal, so that its
/// system calls are not cut short (issue 16.6: `sleep` returned early, `usleep` failed with EINTR).
final class ForeignFunction: @unchecked Sendable {
    let name: String
    let library: String
    let symbol: UnsafeMutableRawPointer
    let parameterTypes: [VType]
    let resultType: VType
    private let cif: UnsafeMutablePointer<ffi_cif>
    private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    /// "name (library)", for crash reports (ForeignCall.begin).
    private let description: UnsafeMutablePointer<CChar>

    /// Open libraries by name (dlopen handles are kept for the life of the process).
    private static let libraries = VMMutex([String: UnsafeMutableRawPointer]())

    private init(
        name: String, library: String, symbol: UnsafeMutableRawPointer, parameters: [VType], result: VType,
        cif: UnsafeMutablePointer<ffi_cif>, argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>
    ) {
        self.name = name
        self.library = library
        self.symbol = symbol
        self.parameterTypes = parameters
        self.resultType = result
        self.cif = cif
        self.argumentTypes = argumentTypes
        self.description = strdup("'\(name)' (\(library))")
    }

    deinit {
        free(description)
        cif.deallocate()
        argumentTypes.deallocate()
    }

    private static func ffiType(_ t: VType) -> UnsafeMutablePointer<ffi_type> {
        switch t {
        case .int: vecvm_ffi_type_sint64()
        case .float: vecvm_ffi_type_double()
        case .f32: vecvm_ffi_type_float()
        case .array: vecvm_ffi_type_pointer()
        default: vecvm_ffi_type_void()
        }
    }

    /// Binds `name` in `library`; the error text on failure is the compile error.
    static func bind(name: String, library: String, parameters: [VType], result: VType) -> Result<ForeignFunction, Trap>
    {
        let handle: UnsafeMutableRawPointer? = libraries.withLock { libs in
            if let h = libs[library] { return h }
            guard let h = dlopen(library, RTLD_NOW | RTLD_LOCAL) else { return nil }
            libs[library] = h
            return h
        }
        guard let handle else {
            let why = dlerror().map { String(cString: $0) } ?? "not found"
            return .failure(Trap("cannot load library \"\(library)\": \(why)"))
        }
        _ = dlerror()
        guard let symbol = dlsym(handle, name) else {
            return .failure(Trap("symbol '\(name)' not found in \"\(library)\""))
        }
        let n = parameters.count
        let types = UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>.allocate(capacity: max(1, n))
        for (i, p) in parameters.enumerated() { types[i] = ffiType(p) }
        let cif = UnsafeMutablePointer<ffi_cif>.allocate(capacity: 1)
        let status = ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(n), ffiType(result), n == 0 ? nil : types)
        guard status == FFI_OK else {
            types.deallocate()
            cif.deallocate()
            return .failure(Trap("libffi cannot describe a call to '\(name)' (status \(status.rawValue))"))
        }
        return .success(
            ForeignFunction(
                name: name, library: library, symbol: symbol, parameters: parameters, result: result,
                cif: cif, argumentTypes: types))
    }

    /// Calls the function with its arguments in consecutive registers from `base`; returns the result's
    /// register bits (0 for no result).
    func call(_ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, base: Int) throws(Trap)
        -> UInt64
    {
        let n = parameterTypes.count
        // Arrays pass their data pointers; scalars pass the address of their register (f32 in its low 4 bytes).
        let pointers = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, n))
        defer { pointers.deallocate() }
        let values = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(1, n))
        defer { values.deallocate() }
        for (i, t) in parameterTypes.enumerated() {
            if t.isArray {
                guard let o = objs[base + i] else { throw Trap("array argument \(i + 1) of '\(name)' is missing") }
                pointers[i] = unsafeDowncast(o, to: VMArray.self).data
                values[i] = UnsafeMutableRawPointer(pointers + i)
            } else {
                values[i] = UnsafeMutableRawPointer(regs + base + i)
            }
        }
        var result: UInt64 = 0
        withUnsafeMutablePointer(to: &result) { r in
            ForeignCall.begin(description)
            ffi_call(
                cif, unsafeBitCast(symbol, to: (@convention(c) () -> Void).self), UnsafeMutableRawPointer(r),
                n == 0 ? nil : values)
            ForeignCall.end()
        }
        switch resultType {
        case .f32: return result & 0xFFFF_FFFF
        case .void: return 0
        default: return result
        }
    }
}
