import ArgumentParser

@main
struct DJD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "djd",
        abstract: "DJCore: a real-time DJ engine for Linux.",
        discussion: "Licence: GPL-3.0-or-later.",
        version: "0.1.0",
        subcommands: [ServeCommand.self, RenderCommand.self, PlayCommand.self, AnalyzeCommand.self, SeparateCommand.self, DevicesCommand.self, LatencyCommand.self]
    )
}
