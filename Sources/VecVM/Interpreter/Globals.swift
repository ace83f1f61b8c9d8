// The global variables of a VM: top-level variables that functions use (and, in a REPL, every
// top-level variable). Tasks on several threads may read and write them at once. Scalar slots are
// plain 64-bit words: a racy program sees some value, never a crash. Object slots hold Swift
// references, whose assignment is not atomic, so every access to them takes `objectLock`.

import Synchronization

final class GlobalStore: @unchecked Sendable {
    let scalars: UnsafeMutablePointer<UInt64>
    let objects: UnsafeMutablePointer<AnyObject?>
    /// One byte per slot: nonzero once the declaration has run (reading earlier is a runtime error).
    let scalarInitialized: UnsafeMutablePointer<UInt8>
    let objectInitialized: UnsafeMutablePointer<UInt8>
    private let objectLock = Mutex(())

    init() {
        scalars = .allocate(capacity: GlobalLayout.maxScalarSlots)
        scalars.initialize(repeating: 0, count: GlobalLayout.maxScalarSlots)
        objects = .allocate(capacity: GlobalLayout.maxObjectSlots)
        objects.initialize(repeating: nil, count: GlobalLayout.maxObjectSlots)
        scalarInitialized = .allocate(capacity: GlobalLayout.maxScalarSlots)
        scalarInitialized.initialize(repeating: 0, count: GlobalLayout.maxScalarSlots)
        objectInitialized = .allocate(capacity: GlobalLayout.maxObjectSlots)
        objectInitialized.initialize(repeating: 0, count: GlobalLayout.maxObjectSlots)
    }

    deinit {
        scalars.deallocate()
        objects.deinitialize(count: GlobalLayout.maxObjectSlots)
        objects.deallocate()
        scalarInitialized.deallocate()
        objectInitialized.deallocate()
    }

    func loadObject(_ slot: Int) -> AnyObject? { objectLock.withLock { _ in objects[slot] } }

    func storeObject(_ slot: Int, _ value: AnyObject?) {
        let old: AnyObject? = objectLock.withLock { _ in
            let old = objects[slot]
            objects[slot] = value
            objectInitialized[slot] = 1
            return old
        }
        _ = old  // released outside the lock
    }
}
