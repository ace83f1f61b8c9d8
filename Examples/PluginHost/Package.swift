// swift-tools-version:6.1
// PluginHost: an app that runs user plugins written in .vec — compiled once, instantiated per user
// with their own state and limits. Depends on VecVM by path, under the name "VecVM" (whatever the
// checkout's folder is called). Build and run:  swift run --package-path Examples/PluginHost
import PackageDescription

let package = Package(
    name: "PluginHost",
    dependencies: [
        .package(name: "VecVM", path: "../..")
    ],
    targets: [
        .executableTarget(name: "PluginHost", dependencies: [.product(name: "VecVM", package: "VecVM")])
    ]
)
