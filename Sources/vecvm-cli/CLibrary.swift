// The platform's C library under one name, for the few calls that a member of the same name would
// shadow (ParsableCommand's `exit`, the line editor's `write`): `CLibrary.exit(1)` on Glibc, Musl
// and Darwin alike.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

enum CLibrary {
    static func exit(_ status: Int32) -> Never {
        #if canImport(Glibc)
            Glibc.exit(status)
        #elseif canImport(Musl)
            Musl.exit(status)
        #else
            Darwin.exit(status)
        #endif
    }

    static func write(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
        #if canImport(Glibc)
            Glibc.write(fd, bytes, count)
        #elseif canImport(Musl)
            Musl.write(fd, bytes, count)
        #else
            Darwin.write(fd, bytes, count)
        #endif
    }
}
