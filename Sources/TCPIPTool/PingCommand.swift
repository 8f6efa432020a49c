import ArgumentParser

struct PingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ping", abstract: "(not yet written)")
    func run() throws {}
}
