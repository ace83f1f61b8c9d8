// swift-tools-version:6.1
// VecVM under attack: libFuzzer targets and an embedding host, in a package of their own so that
// `swift test` and the library's products never build them (fuzz/README.md).
//
//   fuzz-frontend   any bytes → a program or a clean diagnostic (lexer, parser, checker, compiler)
//   fuzz-vm         any bytes that compile → run under the embedding API's limits
//   vecvm-sandbox   an app that runs untrusted programs (time, memory, output limits; no extern)
//
// The fuzz targets are built by fuzz/libfuzzer.sh with `--sanitize fuzzer --sanitize address`;
// vecvm-sandbox is an ordinary executable (fuzz/campaign.sh).
import PackageDescription

let package = Package(
    name: "VecVMFuzzTargets",
    dependencies: [
        .package(name: "VecVM", path: "../..")
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "VecVM", package: "VecVM")]),
        .executableTarget(name: "fuzz-frontend", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "fuzz-vm", dependencies: ["FuzzSupport"]),
        .executableTarget(name: "vecvm-sandbox", dependencies: ["FuzzSupport"]),
    ]
)
