// The global variables of a VM: top-level variables that functions use (and, in a REPL, every
// top-level variable). Tasks on several threads may read and write them at once. Scalar slots are
// plain 64-bit words: a racy program sees some value, never a crash. Object slots hold Swift
// references, whose assignment is not atomic, so every access to them takes `objectLock`.

import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

final class GlobalStore: @unchecked Sendable {
    let scalars: UnsafeMutablePointer<UInt64>
    let objects: UnsafeMutablePointer<AnyObject?>
    /// One byte per slot: nonzero once the declaration has run (reading earlier is a runtime error).
    let scalarInitialized: UnsafeMutablePointer<UInt8>
    let objectInitialized: UnsafeMutablePointer<UInt8>
    private let objectLock = VMMutex(())

    /// One past the highest object slot ever stored: what deinit must release.
    private var objectHighWater = 0

    /// The slots come from calloc: zero pages the system maps on first touch, so a VM pays for the
    /// slots its programs use, not for all 65,536 of each kind (zero bits are 0, "not initialized"
    /// and a nil reference alike).
    init() {
        func zeroed<T>(_ count: Int, _: T.Type) -> UnsafeMutablePointer<T> {
            guard let p = calloc(count, MemoryLayout<T>.stride) else { fatalError("out of memory for globals") }
            return p.bindMemory(to: T.self, capacity: count)
        }
        scalars = zeroed(GlobalLayout.maxScalarSlots, UInt64.self)
        objects = zeroed(GlobalLayout.maxObjectSlots, Optional<AnyObject>.self)
        scalarInitialized = zeroed(GlobalLayout.maxScalarSlots, UInt8.self)
        objectInitialized = zeroed(GlobalLayout.maxObjectSlots, UInt8.self)
    }

    deinit {
        objects.deinitialize(count: objectHighWater)
        free(scalars)
        free(objects)
        free(scalarInitialized)
        free(objectInitialized)
    }

    func loadObject(_ slot: Int) -> AnyObject? { objectLock.withLock { _ in objects[slot] } }

    func storeObject(_ slot: Int, _ value: AnyObject?) {
        let old: AnyObject? = objectLock.withLock { _ in
            let old = objects[slot]
            objects[slot] = value
            objectInitialized[slot] = 1
            objectHighWater = max(objectHighWater, slot + 1)
            return old
        }
        _ = old  // released outside the lock
    }
}
