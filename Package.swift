// swift-tools-version:6.1
// VecVM: an embeddable SIMD virtual machine. Layers (imports point down only):
//   vecvm-cli → VecVM → VMRuntime → CJITStubs   (see ../shared/DESIGN.md and docs/)
// Library targets use no unsafeFlags, so that other packages can depend on VecVM.
import PackageDescription

// The JIT (AVX2/FMA machine code) and asynchronous preemption (a signal into that code) exist on
// x86-64 Linux only; elsewhere the sources compile them out and everything runs in the interpreter
// with cooperative preemption. `VECVM_NO_JIT=1 swift build` (or `swift test`) compiles them out on
// x86-64 Linux too, so that this portable configuration is built and tested here (CI runs it).
let noJIT = !["", "0"].contains(Context.environment["VECVM_NO_JIT"] ?? "")
let swiftSettings: [SwiftSetting] = noJIT ? [.define("VECVM_NO_JIT")] : []
let cSettings: [CSetting] = noJIT ? [.define("VECVM_NO_JIT")] : []

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
        .target(name: "CJITStubs", cSettings: cSettings),
        // libffi, for `extern fn` (Debian: libffi-dev).
        .systemLibrary(name: "CFFI", pkgConfig: "libffi", providers: [.apt(["libffi-dev"])]),
        .target(name: "VMRuntime", dependencies: ["CJITStubs"], swiftSettings: swiftSettings),
        .target(name: "VecVM", dependencies: ["VMRuntime", "CJITStubs", "CFFI"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "vecvm-cli",
            dependencies: ["VecVM", "VMRuntime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings),
        // Helpers of the two test targets that run schedulers for real (not part of any product).
        .target(
            name: "SchedulerTestSupport", dependencies: ["VMRuntime", "CJITStubs"], path: "Tests/SchedulerTestSupport",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "VMRuntimeTests", dependencies: ["VMRuntime", "CJITStubs", "SchedulerTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "VecVMTests", dependencies: ["VecVM", "VMRuntime", "CJITStubs", "SchedulerTestSupport"],
            swiftSettings: swiftSettings),
        // Asynchronous preemption run for real: test routines made with VecVM's assembler, in a code
        // region registered with VMRuntime (register integrity, kernels, pool, encodings, benchmarks).
        .testTarget(
            name: "PreemptionTests", dependencies: ["VMRuntime", "VecVM", "CJITStubs", "SchedulerTestSupport"],
            swiftSettings: swiftSettings),
        // End-to-end tests of the `vecvm` binary (exit statuses, stderr, jit-dump); depends on the
        // executable so that `swift test` builds it.
        .testTarget(name: "CLITests", dependencies: ["vecvm-cli"], swiftSettings: swiftSettings),
    ]
)
