import ArgumentParser
import DJCore
import Foundation

/// The sound-card options `djd play` and `djd latency` share, and opening the device from them.
struct OutputOptions: ParsableArguments {
    @Option(help: "ALSA playback device: default, hw:1,0, plughw:1, a PCM from an asoundrc.")
    var device = "default"

    @Option(help: "Period: frames (256) or milliseconds (5ms). The device may grant another size.")
    var period = "256"

    @Option(help: "Periods in the device buffer (2 ... 16): the output latency is periods × period.")
    var periods = 3

    @Option(name: .customLong("realtime-priority"), help: "SCHED_FIFO priority of the audio thread (0: normal priority).")
    var realtimePriority = 70

    func validate() throws {
        guard BufferLength(parsing: period) != nil else {
            throw ValidationError("--period '\(period)' is neither frames (256) nor milliseconds (5ms)")
        }
    }

    /// Opens the device. A failure prints the error and the device list, and exits with status 3.
    func open(sampleRate: Int, exactRate: Bool = false, format: AudioSampleFormat = .auto, channels: Int? = nil) throws -> AudioOutput {
        var out = AudioOutputConfiguration(device: device)
        out.period = BufferLength(parsing: period)!
        out.periods = periods
        out.realtimePriority = realtimePriority
        out.format = format
        out.channels = channels
        do {
            return try AudioOutput(out, sampleRate: sampleRate, exactRate: exactRate)
        } catch let e as DJCoreError {
            var text = "djd: \(e.description)\n"
            let devices = AudioDevice.list(probe: false)
            if !devices.isEmpty {
                text += "Playback devices ALSA knows (details: djd devices):\n"
                text += devices.map { "  \($0.name)" }.joined(separator: "\n") + "\n"
            }
            FileHandle.standardError.write(Data(text.utf8))
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

/// The line to show for a scheduler event, or nil for those not worth a line.
func notice(for event: AudioSchedulerEvent) -> String? {
    switch event {
    case let .realtimeRefused(m), let .memoryLockRefused(m), let .deviceFailed(m): return m
    case let .reopenFailed(attempt, error, retry):
        return "reopen attempt \(attempt) failed: \(error); next in \(String(format: "%.1f", retry)) s"
    case let .reopened(info): return "sound device '\(info.device)' reopened"
    case .started, .underruns: return nil
    }
}
