import ArgumentParser
import DJCore
import Foundation

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a mix file (JSON) to an audio file, faster than real time.",
        discussion: """
            The mix format is described in the README ("Mix files"). The render runs the same engine code as \
            live playback with a virtual clock: the result does not depend on --period.
            """
    )

    @Argument(help: "The mix file (JSON).")
    var mix: String

    @Option(name: .shortAndLong, help: "Output file (.wav, .flac, .ogg, .mp3).")
    var output: String

    @Option(help: "Output format: \(AudioFileFormat.allCases.map(\.rawValue).joined(separator: ", ")). Default: from the extension (WAV: 24-bit).")
    var format: String?

    @Option(name: .customLong("cue-output"), help: "Also write the cue (headphone) bus to this file.")
    var cueOutput: String?

    @Option(help: "Frames per render period (1 ... 4096). The output is identical for any value.")
    var period: Int = 256

    @Flag(name: .shortAndLong, help: "No progress line and no summary.")
    var quiet = false

    func run() throws {
        var fmt: AudioFileFormat?
        if let f = format {
            guard let parsed = AudioFileFormat(rawValue: f) else {
                throw ValidationError("--format '\(f)' is not one of: \(AudioFileFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            fmt = parsed
        }
        guard (1...4096).contains(period) else { throw ValidationError("--period \(period) is outside 1 ... 4096") }
        let terminal = isatty(STDERR_FILENO) == 1 && !quiet
        do {
            let mixFile = try MixFile.load(path: mix)
            let renderer = MixRenderer(mix: mixFile, periodFrames: period)
            let started = Date()
            let summary = try renderer.render(to: output, format: fmt, cueOutput: cueOutput) { done, total in
                guard terminal else { return }
                let wall = Date().timeIntervalSince(started)
                let speed = wall > 0 ? done / wall : 0
                let pct = total > 0 ? Int(100 * done / total) : 100
                FileHandle.standardError.write(Data(String(format: "\rrendering %@ / %@  %3d%%  %.0fx real time ",
                                                           clock(done), clock(total), pct, speed).utf8))
            }
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            if !quiet {
                let peakDb = summary.peak > 0 ? 20 * log10(Double(summary.peak)) : -Double.infinity
                print(String(format: "%@: %@ at %d Hz, peak %.1f dBFS, rendered in %.2f s (%.0fx real time)",
                             output, clock(summary.seconds), summary.sampleRate, peakDb, summary.wallSeconds, summary.speed))
            }
        } catch let e as MixFileError {
            FileHandle.standardError.write(Data("djd render: \(e.description)\n".utf8))
            throw ExitCode(2)
        } catch let e as DJCoreError {
            FileHandle.standardError.write(Data("djd render: \(e.description)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// 75.25 -> "1:15.3"
func clock(_ seconds: Double) -> String {
    let m = Int(seconds) / 60
    return String(format: "%d:%04.1f", m, seconds - Double(m * 60))
}
