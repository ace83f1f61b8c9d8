// swift-tools-version:6.1
// A small app that embeds VecVM the way any Swift package would: as a dependency (here by path).
// Build and run:  swift run --package-path Examples/EmbedDemo
import PackageDescription

let package = Package(
    name: "EmbedDemo",
    dependencies: [
        .package(name: "VecVM", path: "../..")
    ],
    targets: [
        .executableTarget(name: "EmbedDemo", dependencies: [.product(name: "VecVM", package: "VecVM")])
    ]
)
