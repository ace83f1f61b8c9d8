// swift-tools-version:6.1
// The embedding benchmark: round trips of `call` from Swift into a small .vec function, measured
// beside Lua 5.4's C API (lua_call.c) by bench/bench.py's `embedding` group. Depends on VecVM by
// path, as an app would.
import PackageDescription

let package = Package(
    name: "EmbedBench",
    dependencies: [
        .package(name: "VecVM", path: "../..")
    ],
    targets: [
        .executableTarget(name: "callbench", dependencies: [.product(name: "VecVM", package: "VecVM")])
    ]
)
