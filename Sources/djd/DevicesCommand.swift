import ArgumentParser
import DJCore
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the playback devices ALSA knows, with what each can do.",
        discussion: """
            Each device is opened briefly to ask for its channels, rates, formats and period range; a device \
            in use by another program, or whose sound server is not running, is listed with the reason. Use a \
            name from the first column with --device. 'hw:' devices are the card itself (exact formats and \
            rates, lowest latency); 'plughw:' and 'plug:' convert whatever is asked.
            """
    )

    @Flag(help: "One JSON array instead of a table.")
    var json = false

    @Flag(name: .customLong("no-probe"), help: "Only list names; do not open the devices.")
    var noProbe = false

    func run() throws {
        let devices = AudioDevice.list(probe: !noProbe)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(devices), as: UTF8.self))
            return
        }
        if devices.isEmpty {
            print("No playback devices found (ALSA lists none). Is libasound2-plugins or a sound card present?")
            return
        }
        print(DevicesCommand.table(devices))
    }

    static func table(_ devices: [AudioDevice]) -> String {
        var lines: [String] = []
        for d in devices {
            let desc = d.description.isEmpty ? "" : "  — \(d.description)"
            lines.append("\(d.name)\(desc)")
            if let c = d.capabilities {
                let rates = c.standardRates.isEmpty ? "\(c.sampleRates.lowerBound)–\(c.sampleRates.upperBound) Hz"
                    : c.standardRates.map { $0 % 1000 == 0 ? "\($0 / 1000)k" : String(format: "%.1fk", Double($0) / 1000) }.joined(separator: " ")
                let ch = c.channels.lowerBound == c.channels.upperBound ? "\(c.channels.lowerBound)" : "\(c.channels.lowerBound)–\(min(c.channels.upperBound, 9999))"
                let period = "\(c.periodFrames.lowerBound)–\(min(c.periodFrames.upperBound, 1 << 24))"
                lines.append("    \(c.deviceType.lowercased()), channels \(ch), rates \(rates), formats \(c.formats.joined(separator: " ")), period \(period) frames")
            } else if let e = d.probeError {
                lines.append("    unavailable: \(e)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
