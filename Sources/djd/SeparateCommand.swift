import ArgumentParser
import DJCore
import Foundation

struct SeparateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separate",
        abstract: "Split a track into drums, bass and other stems (classical DSP, no neural network).",
        discussion: """
            Writes DIR/<name>.drums.wav, DIR/<name>.bass.wav and DIR/<name>.other.wav at the file's own \
            rate (stereo, 32-bit float unless --format wav24). The stems sum back to the track. Drums are \
            the percussive part (median-filter harmonic/percussive separation), bass is the sustained part \
            below the crossover, other is everything else (chords, leads, vocals). Prints the stem paths, \
            or with --json one object {source, stems: {name: path}, sampleRate, duration, options}. \
            Ctrl-C stops the work and leaves no partial files. Exit status: 0 when done, 1 on an error, \
            130 when interrupted.
            """
    )

    @Argument(help: "An audio file (WAV, AIFF, FLAC, Ogg, MP3, ...).")
    var file: String

    @Option(name: .customLong("out"), help: "Directory for the stems (default: the file's own directory).")
    var out: String?

    @Flag(help: "JSON instead of a list of paths.")
    var json = false

    @Option(help: "Stem file format: wav32f or wav24.")
    var format = "wav32f"

    @Option(name: .customLong("crossover"), help: "Bass/other crossover (Hz).")
    var crossoverHz: Double = 150

    @Option(help: "Separation factor (1 ... 10): above 1, bins neither clearly harmonic nor clearly percussive go to 'other'.")
    var separation: Double = 1

    func validate() throws {
        do {
            try options().validate()
        } catch let e as DJCoreError {
            throw ValidationError(e.description)
        }
    }

    func options() throws -> StemOptions {
        guard let f = AudioFileFormat(rawValue: format), f == .wavFloat || f == .wav24 else {
            throw DJCoreError.invalidArgument("--format '\(format)' is not one of wav32f, wav24")
        }
        return StemOptions(separation: separation, bassCrossoverHz: crossoverHz, format: f)
    }

    func run() throws {
        let separator = try StemSeparator(options: options())
        let directory = out ?? (((file as NSString).deletingLastPathComponent).isEmpty
            ? "." : (file as NSString).deletingLastPathComponent)
        let stop = StopSignal()
        let showProgress = isatty(STDERR_FILENO) == 1
        let name = (file as NSString).lastPathComponent
        let clearLine = { if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
        let result: StemSeparation
        do {
            result = try separator.separate(
                path: file, outputDirectory: directory,
                progress: showProgress ? { f in
                    FileHandle.standardError.write(Data("\r\u{1B}[Kseparating \(name)  \(Int((f * 100).rounded()))%".utf8))
                } : nil,
                isCancelled: { stop.received != 0 })
            clearLine()
        } catch let e as DJCoreError {
            clearLine()
            if case .cancelled = e {
                FileHandle.standardError.write(Data("djd separate: interrupted; no stems written\n".utf8))
                throw ExitCode(130)
            }
            FileHandle.standardError.write(Data("djd separate: \(e)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(result), as: UTF8.self))
        } else {
            print("\(name)  \(AnalyzeCommand.clock(result.duration))  \(result.sampleRate) Hz")
            for stem in Stem.allCases {
                if let path = result.stems[stem.rawValue] { print("  \(stem.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)) \(path)") }
            }
        }
    }
}
