// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "swift-tcpip",
    products: [
        .library(name: "TCPIPCore", targets: ["TCPIPCore"]),
        .library(name: "TCPIP", targets: ["TCPIP"]),
        .executable(name: "tcpip", targets: ["TCPIPTool"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // The sans-IO protocol stack: no clock, no syscalls, no threads.
        .target(
            name: "TCPIPCore",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        // Header-only C target exposing the TUN/TAP ioctl constants.
        .target(name: "CTunTap"),
        // NIC drivers: TAP, in-memory wire, fault injector, pcap. Every syscall lives here.
        .target(name: "TCPIPDrivers", dependencies: ["TCPIPCore", "CTunTap"]),
        // The runtime: one owner thread per host, blocking socket API, control server.
        .target(name: "TCPIP", dependencies: ["TCPIPCore", "TCPIPDrivers"]),
        .executableTarget(
            name: "TCPIPTool",
            dependencies: [
                "TCPIP", "TCPIPCore", "TCPIPDrivers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "TCPIPCoreTests", dependencies: ["TCPIPCore", "TCPIPDrivers"]),
        .testTarget(name: "TCPIPDriversTests", dependencies: ["TCPIPDrivers", "TCPIPCore"]),
        // The runtime in process: two hosts over an in-memory device pair, no root needed.
        .testTarget(name: "TCPIPTests", dependencies: ["TCPIP", "TCPIPCore", "TCPIPDrivers"]),
        .testTarget(name: "TCPIPInteropTests", dependencies: ["TCPIP", "TCPIPCore", "TCPIPDrivers", "TCPIPTool"]),
    ],
    swiftLanguageModes: [.v6]
)
