import CDSP
import DJCore
import Foundation
import Testing

/// A mix made of known parts, for judging the stems against the truth.
enum StemSignals {
    static let rate = 44100

    struct Parts {
        var drums: [Float]
        var bass: [Float]
        var chords: [Float]
        var mix: [Float] { (0..<drums.count).map { drums[$0] + bass[$0] + chords[$0] } }
    }

    /// 120 BPM: a pitch-dropping kick on every beat, a noise snare on 2 and 4, hats on the off-beats; a
    /// sine bass line (with a quieter octave) of A1 C2 D2 G1, one note a beat pair; sustained triads
    /// (4 harmonics each) above 200 Hz, panned a little apart, changing every two seconds.
    static func parts(seconds: Double) -> Parts {
        let n = Int(seconds * Double(rate))
        var drums = [Float](repeating: 0, count: 2 * n), bass = drums, chords = drums
        var seed: UInt32 = 7
        func noise() -> Float {
            seed = seed &* 1664525 &+ 1013904223
            return Float(Int32(bitPattern: seed)) / Float(Int32.max)
        }
        let beat = 0.5
        var t = 0.0, index = 0
        while t < seconds {
            let start = Int(t * Double(rate))
            // kick: 150 -> 50 Hz sine, 1 ms click
            var phase = 0.0
            for i in 0..<Int(0.15 * Double(rate)) where start + i < n {
                let s = Double(i) / Double(rate)
                phase += 2 * Double.pi * (50 + 100 * exp(-s * 40)) / Double(rate)
                var v = Float(sin(phase) * exp(-s * 25)) * 0.7
                if i < 44 { v += Float(44 - i) / 44 * 0.4 }
                drums[2 * (start + i)] += v
                drums[2 * (start + i) + 1] += v
            }
            if index % 2 == 1 { // snare: noise burst with a 190 Hz body
                for i in 0..<Int(0.12 * Double(rate)) where start + i < n {
                    let s = Double(i) / Double(rate)
                    let v = (noise() * 0.25 + Float(sin(2 * Double.pi * 190 * s)) * 0.15) * Float(exp(-s * 30))
                    drums[2 * (start + i)] += v
                    drums[2 * (start + i) + 1] += v
                }
            }
            // hat on the off-beat: 25 ms of differenced noise
            let hat = start + Int(beat / 2 * Double(rate))
            var prev: Float = 0
            for i in 0..<Int(0.025 * Double(rate)) where hat + i < n {
                let x = noise()
                let v = (x - prev) * 0.12 * Float(exp(-Double(i) / Double(rate) * 150))
                prev = x
                drums[2 * (hat + i)] += v
                drums[2 * (hat + i) + 1] += v
            }
            t += beat
            index += 1
        }
        let bassNotes = [55.0, 65.41, 73.42, 49.0]
        for i in 0..<n {
            let s = Double(i) / Double(rate)
            let note = Int(s) % bassNotes.count, local = s - floor(s)
            let env = min(1, local / 0.01) * min(1, (1 - local) / 0.02)
            let f = bassNotes[note]
            let v = Float(env * (sin(2 * Double.pi * f * s) + 0.3 * sin(4 * Double.pi * f * s)) * 0.3)
            bass[2 * i] = v
            bass[2 * i + 1] = v
        }
        let chordNotes: [[Double]] = [[220, 261.63, 329.63], [293.66, 349.23, 440], [329.63, 415.3, 493.88]]
        for i in 0..<n {
            let s = Double(i) / Double(rate)
            let c = Int(s / 2) % chordNotes.count, local = s - 2 * floor(s / 2)
            let env = min(1, local / 0.02) * min(1, (2 - local) / 0.03)
            var l = 0.0, r = 0.0
            for (j, f) in chordNotes[c].enumerated() {
                var v = 0.0
                for h in 1...4 { v += sin(2 * Double.pi * f * Double(h) * s) / Double(h) }
                let pan = [0.3, 0.5, 0.7][j]
                l += v * (1 - pan)
                r += v * pan
            }
            chords[2 * i] = Float(env * l * 0.08)
            chords[2 * i + 1] = Float(env * r * 0.08)
        }
        return Parts(drums: drums, bass: bass, chords: chords)
    }

    /// Signal-to-distortion ratio (dB) of `estimate` against `truth`: 10 log10(|truth|² / |truth - estimate|²).
    static func sdr(_ estimate: [Float], _ truth: [Float]) -> Double {
        var s = 0.0, e = 0.0
        for i in truth.indices {
            let t = Double(truth[i]), d = t - Double(estimate[i])
            s += t * t
            e += d * d
        }
        return 10 * log10(max(s, 1e-30) / max(e, 1e-30))
    }

    static func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
        var m: Float = 0
        for i in a.indices { m = max(m, abs(a[i] - b[i])) }
        return m
    }

    static func sum(_ stems: [Stem: [Float]]) -> [Float] {
        let d = stems[.drums]!, b = stems[.bass]!, o = stems[.other]!
        return (0..<d.count).map { d[$0] + b[$0] + o[$0] }
    }

    static func tempDir() throws -> String {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("djcore-stems-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u.path
    }

    static func write(_ samples: [Float], to path: String, rate: Int = rate) throws {
        let w = try AudioFileWriter(path: path, sampleRate: rate, channels: 2, format: .wavFloat)
        try w.write(samples)
        try w.close()
    }

    static func read(_ path: String) throws -> (samples: [Float], rate: Int) {
        var audio = cdsp_audio()
        var info = cdsp_audiofile_info()
        let st = cdsp_audiofile_load(path, 0, CDSP_SRC_FASTEST, 0, &audio, &info, nil, 0)
        guard st == CDSP_OK, let f = audio.frames else { throw DJCoreError.invalidArgument("cannot read \(path)") }
        defer { cdsp_audio_free(&audio) }
        return (Array(UnsafeBufferPointer(start: f, count: Int(audio.length) * 2)), Int(audio.sample_rate))
    }
}

@Suite("Stem separation")
struct StemTests {
    /// The synthetic mix, separated once for the tests that judge it.
    static let fixture: (parts: StemSignals.Parts, mix: [Float], stems: [Stem: [Float]]) = {
        let parts = StemSignals.parts(seconds: 6)
        let mix = parts.mix
        let stems = try! StemSeparator().separate(stereo: mix, sampleRate: StemSignals.rate)
        return (parts, mix, stems)
    }()

    @Test func stems_sum_back_to_the_mix() throws {
        let (_, mix, stems) = Self.fixture
        for stem in Stem.allCases { #expect(stems[stem]!.count == mix.count) }
        let err = StemSignals.maxAbsDifference(StemSignals.sum(stems), mix)
        #expect(err < 1e-4, "max |drums + bass + other - mix| = \(err)")
    }

    @Test func each_stem_matches_its_own_source_best() throws {
        let (parts, mix, stems) = Self.fixture
        let truth: [(Stem, [Float])] = [(.drums, parts.drums), (.bass, parts.bass), (.other, parts.chords)]
        var report: [String] = []
        var sdr: [Stem: Double] = [:], gain: [Stem: Double] = [:]
        for (stem, source) in truth {
            let own = StemSignals.sdr(stems[stem]!, source)
            let baseline = StemSignals.sdr(mix, source) // the mix itself as the estimate
            sdr[stem] = own
            gain[stem] = own - baseline
            let against = truth.filter { $0.0 != stem }.map { other in
                "vs \(other.0.rawValue) source \(String(format: "%.1f", StemSignals.sdr(stems[stem]!, other.1)))"
            }
            report.append(String(format: "%@: SDR %.1f dB (mix %.1f dB, +%.1f), ", stem.rawValue, own, baseline,
                                 own - baseline) + against.joined(separator: ", "))
            for (other, otherSource) in truth where other != stem {
                // it resembles its own source more than any other (measured margins: 7, 20 and 13 dB)
                #expect(own > StemSignals.sdr(stems[stem]!, otherSource) + 4, "\(report.last!)")
                // and the stem is the best estimate of its source among the stems
                #expect(own > StemSignals.sdr(stems[other]!, source) + 5, "\(report.last!)")
            }
        }
        let text = report.joined(separator: "\n")
        // measured with the defaults: drums 6.9 dB, bass 13.1 dB, other 12.5 dB; +13.7, +7.9, +24.5 dB over
        // the mix itself
        #expect(sdr[.drums]! > 5, "\(text)")
        #expect(sdr[.bass]! > 10, "\(text)")
        #expect(sdr[.other]! > 10, "\(text)")
        for stem in Stem.allCases { #expect(gain[stem]! > 6, "\(text)") }
        if ProcessInfo.processInfo.environment["STEM_REPORT"] != nil { print(text) }
    }

    @Test func silence_in_gives_silence_out() throws {
        let stems = try StemSeparator().separate(stereo: [Float](repeating: 0, count: 2 * 30000), sampleRate: 48000)
        for stem in Stem.allCases {
            #expect(stems[stem]!.count == 60000)
            #expect(stems[stem]!.allSatisfy { $0 == 0 }, "\(stem) is not silent")
        }
    }

    @Test func a_tenth_of_a_second_file_gives_three_files_of_its_length() throws {
        let dir = try StemSignals.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let mix = Array(StemSignals.parts(seconds: 0.1).mix)
        let src = dir + "/short clip.wav"
        try StemSignals.write(mix, to: src)
        let result = try StemSeparator().separate(path: src, outputDirectory: dir + "/out")
        #expect(result.sampleRate == StemSignals.rate)
        #expect(abs(result.duration - 0.1) < 1e-9)
        #expect(Set(result.stems.keys) == ["drums", "bass", "other"])
        var sum = [Float](repeating: 0, count: mix.count)
        for stem in Stem.allCases {
            let path = try #require(result.stems[stem.rawValue])
            #expect(path == dir + "/out/short clip.\(stem.rawValue).wav")
            let (samples, rate) = try StemSignals.read(path)
            #expect(rate == StemSignals.rate)
            #expect(samples.count == mix.count)
            for i in sum.indices where i < samples.count { sum[i] += samples[i] }
        }
        let err = StemSignals.maxAbsDifference(sum, mix)
        #expect(err < 1e-4, "files: max |sum - mix| = \(err)")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").sorted()
        #expect(left == ["short clip.bass.wav", "short clip.drums.wav", "short clip.other.wav"])
    }

    @Test func a_missing_file_is_a_track_load_error() throws {
        let dir = try StemSignals.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect {
            try StemSeparator().separate(path: dir + "/nope.wav", outputDirectory: dir)
        } throws: { e in
            guard case let .trackLoad(path, reason, _) = e as? DJCoreError else { return false }
            return path == dir + "/nope.wav" && reason == .notFound
        }
    }

    @Test func a_text_file_is_an_unsupported_track() throws {
        let dir = try StemSignals.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/notes.wav"
        try Data("this is not audio\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try StemSeparator().separate(path: path, outputDirectory: dir + "/out")
        } throws: { e in
            guard case let .trackLoad(_, reason, _) = e as? DJCoreError else { return false }
            return reason == .unsupported || reason == .corrupt
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
    }

    @Test func cancelling_stops_early_and_leaves_no_files() throws {
        let dir = try StemSignals.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = dir + "/long.wav"
        try StemSignals.write([Float](repeating: 0.1, count: 2 * 10 * StemSignals.rate), to: src) // 10 s
        var asked = 0, reports: [Double] = []
        #expect {
            try StemSeparator().separate(path: src, outputDirectory: dir + "/out",
                                         progress: { reports.append($0) },
                                         isCancelled: { asked += 1; return asked >= 3 })
        } throws: { e in
            guard case .cancelled = e as? DJCoreError else { return false }
            return true
        }
        #expect(asked == 3)
        #expect((reports.max() ?? 0) < 0.5, "progress reached \(reports.max() ?? 0) before the cancel")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/out").isEmpty)

        // in memory: cancelled before the first block
        #expect(throws: DJCoreError.self) {
            try StemSeparator().separate(stereo: [Float](repeating: 0, count: 2 * 1000), sampleRate: 44100,
                                         isCancelled: { true })
        }
    }

    @Test func progress_rises_to_one() throws {
        var reports: [Double] = []
        _ = try StemSeparator().separate(stereo: [Float](repeating: 0.01, count: 2 * 200_000), sampleRate: 44100,
                                         progress: { reports.append($0) })
        #expect(reports.count >= 3)
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(reports.last == 1)
    }

    @Test func bad_options_name_the_bad_value() throws {
        func message(_ o: StemOptions, rate: Int? = nil) -> String {
            do { try o.validate(sampleRate: rate); return "" } catch { return "\(error)" }
        }
        #expect(message(StemOptions(separation: 0.5)).contains("0.5"))
        #expect(message(StemOptions(fftSize: 3000)).contains("3000"))
        #expect(message(StemOptions(fftSize: 4096, hop: 3000)).contains("3000"))
        #expect(message(StemOptions(harmonicSeconds: 5)).contains("5"))
        #expect(message(StemOptions(percussiveHz: -1)).contains("-1"))
        #expect(message(StemOptions(maskPower: .nan)).contains("nan"))
        #expect(message(StemOptions(bassCrossoverHz: 3000)).contains("3000"))
        #expect(message(StemOptions(format: .mp3)).contains("mp3"))
        #expect(message(StemOptions(bassCrossoverHz: 1500), rate: 4000).contains("4000"))
        #expect(message(StemOptions()) == "")
        #expect(throws: DJCoreError.self) { try StemSeparator(options: StemOptions(separation: 11)) }
        #expect(throws: DJCoreError.self) {
            try StemSeparator().separate(stereo: [0, 0, 0], sampleRate: 44100)
        }
    }

    @Test func the_c_stream_is_the_same_in_any_block_size() throws {
        // Feeding 1000 frames at a time gives the same stems as the whole buffer at once.
        let mix = Array(StemTests.fixture.mix.prefix(2 * 40000))
        var config = cdsp_stems_config_default(44100, 2)
        config.max_block_frames = 1000
        var st = CDSP_OK
        let s = try #require(cdsp_stems_create(&config, &st))
        defer { cdsp_stems_destroy(s) }
        #expect(cdsp_stems_latency(s) == 3072 + 6 * 1024)
        let cap = Int(cdsp_stems_output_capacity(s))
        let outs = (0..<3).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: cap * 2) }
        defer { for p in outs { p.deallocate() } }
        let ptrs: [UnsafeMutablePointer<Float>?] = outs
        var got: [[Float]] = [[], [], []]
        func collect(_ made: Int64) {
            for k in 0..<3 { got[k] += UnsafeBufferPointer(start: outs[k], count: Int(made) * 2) }
        }
        var done = 0
        while done < 40000 {
            var used: Int64 = 0
            let made = mix.withUnsafeBufferPointer { m in
                cdsp_stems_process(s, m.baseAddress! + 2 * done, Int64(40000 - done), ptrs, &used)
            }
            #expect(used <= 1000)
            collect(made)
            done += Int(used)
        }
        collect(cdsp_stems_flush(s, ptrs))
        #expect(cdsp_stems_flush(s, ptrs) == 0)
        let whole = try StemSeparator().separate(stereo: mix, sampleRate: 44100)
        for (k, stem) in Stem.allCases.enumerated() {
            #expect(got[k].count == mix.count)
            #expect(StemSignals.maxAbsDifference(got[k], whole[stem]!) < 1e-6, "\(stem)")
        }
    }
}
