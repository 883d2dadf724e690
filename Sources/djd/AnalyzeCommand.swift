import ArgumentParser
import DJCore
import Foundation

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Tempo, beat grid, downbeats, key, loudness and a waveform overview of audio files.",
        discussion: """
            Prints a short summary per file, or with --json one JSON object (an array of them for several \
            files; a file that cannot be analysed is an object with "file" and "error"). Results are cached \
            by file content under $XDG_CACHE_HOME/djcore/analysis (or ~/.cache/djcore/analysis), so a second \
            run on the same file is instant. Exit status: 0 when every file was analysed, 1 otherwise.
            """
    )

    @Argument(help: "Audio files (WAV, AIFF, FLAC, Ogg, MP3, ...).")
    var files: [String]

    @Flag(help: "JSON instead of a summary.")
    var json = false

    @Option(name: .customLong("min-bpm"), help: "Bottom of the preferred tempo range.")
    var minBPM: Double = 70

    @Option(name: .customLong("max-bpm"), help: "Top of the preferred tempo range.")
    var maxBPM: Double = 180

    @Option(name: .customLong("target-lufs"), help: "Loudness target for the suggested gain (LUFS).")
    var targetLUFS: Double = -14

    @Option(help: "Columns of the waveform overview.")
    var columns: Int = 1024

    @Flag(name: .customLong("no-waveform"), help: "Leave the waveform overview out of the JSON.")
    var noWaveform = false

    @Flag(name: .customLong("no-cache"), help: "Neither read nor write the analysis cache.")
    var noCache = false

    @Option(name: .customLong("cache-dir"), help: "Directory of the analysis cache.")
    var cacheDir: String?

    func validate() throws {
        do {
            try AnalysisOptions(minBPM: minBPM, maxBPM: maxBPM, targetLUFS: targetLUFS, waveformColumns: columns).validate()
        } catch let e as DJCoreError {
            throw ValidationError(e.description)
        }
    }

    func run() throws {
        let options = AnalysisOptions(minBPM: minBPM, maxBPM: maxBPM, targetLUFS: targetLUFS, waveformColumns: columns)
        let cache = noCache ? nil : try AnalysisCache(directory: cacheDir)
        let analyzer = try TrackAnalyzer(options: options, cache: cache)
        let showProgress = isatty(STDERR_FILENO) == 1
        var results: [Result<TrackAnalysis, Error>] = []
        var failed = false
        for file in files {
            let name = (file as NSString).lastPathComponent
            let progress: (@Sendable (Double) -> Void)? = showProgress ? ProgressLine(name: name).update : nil
            do {
                let a = try analyzer.analyze(path: file, progress: progress)
                if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                results.append(.success(a))
                if !json { print(AnalyzeCommand.summary(a, name: name)) }
            } catch {
                if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                failed = true
                results.append(.failure(error))
                FileHandle.standardError.write(Data("djd analyze: \(error)\n".utf8))
            }
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var objects: [String] = []
            for (file, r) in zip(files, results) {
                switch r {
                case .success(var a):
                    if noWaveform { a.waveform = nil }
                    objects.append(String(decoding: try enc.encode(a), as: UTF8.self))
                case .failure(let e):
                    if files.count > 1 {
                        objects.append(String(decoding: try enc.encode(["file": file, "error": "\(e)"]), as: UTF8.self))
                    }
                }
            }
            if files.count == 1 { if let o = objects.first { print(o) } }
            else { print("[" + objects.joined(separator: ",\n") + "]") }
        }
        if failed { throw ExitCode(1) }
    }

    static func clock(_ seconds: Double) -> String {
        let s = max(0, seconds)
        return String(format: "%d:%04.1f", Int(s) / 60, s.truncatingRemainder(dividingBy: 60))
    }

    static func summary(_ a: TrackAnalysis, name: String) -> String {
        var lines = ["\(name)  \(clock(a.duration))  \(a.sampleRate) Hz\(a.format.map { ", \($0)" } ?? "")"]
        if let bpm = a.bpm {
            let others = a.bpmCandidates.dropFirst().prefix(2)
                .map { String(format: "%.2f (%.2f)", $0.bpm, $0.confidence) }.joined(separator: ", ")
            lines.append(String(format: "  tempo     %.2f BPM, %@, grid confidence %.2f%@", bpm,
                                a.steadyTempo ? "steady" : "varying", a.gridConfidence,
                                others.isEmpty ? "" : "; also \(others)"))
            let first = a.downbeats.first.map { String(format: "%.3f s", $0) } ?? "-"
            lines.append("  beats     \(a.beats.count) in \(a.beatsPerBar ?? 4)/4 bars, first downbeat at \(first)")
        } else {
            let guess = a.bpmCandidates.first.map { String(format: " (best guess %.2f BPM, confidence %.2f)", $0.bpm, $0.confidence) } ?? ""
            lines.append("  tempo     no steady pulse\(guess)")
        }
        if let key = a.key, let cam = a.camelot, let open = a.openKey {
            lines.append(String(format: "  key       %@ (%@, %@), confidence %.2f", key, cam, open, a.keyConfidence))
        } else {
            lines.append("  key       none (no tonal content)")
        }
        let l = a.loudness
        if let i = l.integratedLUFS, let g = l.gainDB {
            lines.append(String(format: "  loudness  %.1f LUFS, range %.1f LU, true peak %.1f dBTP; %+.1f dB to %.0f LUFS", i,
                                l.rangeLU, l.truePeakDBTP ?? -Double.infinity, g, l.targetLUFS))
        } else {
            lines.append("  loudness  silent")
        }
        if let s = a.introEnd, let e = a.outroStart, s < a.beats.count, e < a.beats.count {
            lines.append("  mix       full arrangement from beat \(s + 1) (\(clock(a.beats[s]))) to beat \(e + 1) (\(clock(a.beats[e])))")
        }
        return lines.joined(separator: "\n")
    }
}

/// "analysing NAME  42%" on standard error, redrawn in place.
private struct ProgressLine: Sendable {
    let name: String
    func update(_ f: Double) {
        let pct = Int((f * 100).rounded())
        FileHandle.standardError.write(Data("\r\u{1B}[Kanalysing \(name)  \(pct)%".utf8))
    }
}
