import ArgumentParser
import DJCore
import Foundation

/// The output options `djd play`, `djd latency` and `djd serve` share (a sound card, or --output null|file:PATH),
/// and opening the output from them.
struct OutputOptions: ParsableArguments {
    @Option(help: "ALSA playback device: default, hw:1,0, plughw:1, a PCM from an asoundrc. (default: default)")
    var device: String?

    @Option(help: ArgumentHelp(
        "No sound card: 'null' (discard) or 'file:PATH' (record a WAV), paced in real time like a card.",
        discussion: "The live path runs as on a sound card. file:PATH is 32-bit float unless --format says S16/S24/S32; the WAV stays playable even if djd is killed. Excludes --device.",
        valueName: "null|file:PATH"))
    var output: String?

    @Option(help: "Period: frames (256) or milliseconds (5ms). The device may grant another size.")
    var period = "256"

    @Option(help: "Periods in the device buffer (2 ... 16): the output latency is periods × period.")
    var periods = 3

    @Option(name: .customLong("realtime-priority"), help: "SCHED_FIFO priority of the audio thread (0: normal priority).")
    var realtimePriority = 70

    func validate() throws {
        if let o = output {
            guard device == nil else {
                throw ValidationError("--output \(o) and --device \(device!) exclude each other: give one")
            }
            do { _ = try VirtualOutput(parsing: o) } catch { throw ValidationError("--output: \(error)") }
        }
        guard BufferLength(parsing: period) != nil else {
            throw ValidationError("--period '\(period)' is neither frames (256) nor milliseconds (5ms)")
        }
    }

    /// The output these options describe (the sound card, or the virtual --output). The daemon opens it
    /// itself (at its engine rate); `djd play` and `djd latency` use `open`.
    func configuration(format: AudioSampleFormat = .auto, channels: Int? = nil) throws -> AudioOutputConfiguration {
        var out = AudioOutputConfiguration(device: device ?? "default")
        if let o = output { out.virtualOutput = try VirtualOutput(parsing: o) }
        out.period = BufferLength(parsing: period)!
        out.periods = periods
        out.realtimePriority = realtimePriority
        out.format = format
        out.channels = channels
        return out
    }

    /// Prints why the output could not be opened (for a sound card, with the devices ALSA knows).
    func reportOpenFailure(_ error: DJCoreError) {
        var text = "djd: \(error.description)\n"
        let devices = output == nil ? AudioDevice.list(probe: false) : []
        if !devices.isEmpty {
            text += "Playback devices ALSA knows (details: djd devices):\n"
            text += devices.map { "  \($0.name)" }.joined(separator: "\n") + "\n"
        }
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Opens the device (or the virtual --output). A failure prints the error (and, for a sound card, the
    /// device list), and exits with status 3.
    func open(sampleRate: Int, exactRate: Bool = false, format: AudioSampleFormat = .auto, channels: Int? = nil) throws -> AudioOutput {
        do {
            return try AudioOutput(configuration(format: format, channels: channels), sampleRate: sampleRate, exactRate: exactRate)
        } catch let e as DJCoreError {
            reportOpenFailure(e)
            throw ExitCode(3)
        }
    }

    /// An engine configuration at the rate the device granted, able to render its period in one call.
    static func engineConfiguration(for output: AudioOutput, decks: Int) -> EngineConfiguration {
        var config = EngineConfiguration(sampleRate: output.info.sampleRate, decks: decks)
        config.maxPeriodFrames = max(config.maxPeriodFrames, output.info.periodFrames)
        return config
    }
}
