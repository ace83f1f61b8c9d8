// swift-tools-version:6.1
// VecVM: an embeddable SIMD virtual machine. Layers (imports point down only):
//   vecvm-cli → VecVM → VMRuntime → CJITStubs   (see ../shared/DESIGN.md and docs/)
// Library targets use no unsafeFlags, so that other packages can depend on VecVM.
import PackageDescription

let package = Package(
    name: "VecVM",
    products: [
        .library(name: "VecVM", targets: ["VecVM"]),
        .library(name: "VMRuntime", targets: ["VMRuntime"]),
        .executable(name: "vecvm", targets: ["vecvm-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target VecVM` builds the DocC catalog
        // (Sources/VecVM/VecVM.docc); a plugin only, nothing of it is linked into VecVM.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CJITStubs"),
        // libffi, for `extern fn` (Debian: libffi-dev).
        .systemLibrary(name: "CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
        .target(name: "VMRuntime", dependencies: ["CJITStubs"]),
        .target(name: "VecVM", dependencies: ["VMRuntime", "CJITStubs", "CFFI"]),
        .executableTarget(
            name: "vecvm-cli",
            dependencies: ["VecVM", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Helpers of the two test targets that run schedulers for real (not part of any product).
        .target(
            name: "SchedulerTestSupport", dependencies: ["VMRuntime", "CJITStubs"], path: "Tests/SchedulerTestSupport"),
        .testTarget(name: "VMRuntimeTests", dependencies: ["VMRuntime", "CJITStubs", "SchedulerTestSupport"]),
        .testTarget(name: "VecVMTests", dependencies: ["VecVM", "VMRuntime", "CJITStubs"]),
        // Asynchronous preemption run for real: test routines made with VecVM's assembler, in a code
        // region registered with VMRuntime (register integrity, kernels, pool, encodings, benchmarks).
        .testTarget(
            name: "PreemptionTests", dependencies: ["VMRuntime", "VecVM", "CJITStubs", "SchedulerTestSupport"]),
        // End-to-end tests of the `vecvm` binary (exit statuses, stderr, jit-dump); depends on the
        // executable so that `swift test` builds it.
        .testTarget(name: "CLITests", dependencies: ["vecvm-cli"]),
    ]
)
