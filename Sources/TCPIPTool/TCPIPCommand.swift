import ArgumentParser

/// `tcpip`: a TCP/IP stack in user space, and the tools that show it working.
@main
struct TCPIPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tcpip",
        abstract: "A TCP/IP protocol stack in user space: run it, watch it, talk to it.",
        subcommands: [
            DemoCommand.self, ServeCommand.self, PingCommand.self, BenchCommand.self, GetCommand.self, BulkCommand.self,
            ShellCommand.self,
        ]
    )
}
