import CDSP
import Dispatch
import Foundation

/// Analyses tracks: tempo, beat grid, downbeats, key, loudness, waveform overview and arrangement.
///
/// The work is done in CDSP (FFTW): `rhythm.c`, `key.c`, `loudness.c`, `waveform.c`. A file is decoded at
/// its own rate (no resampling), the rhythm and key run on the mono mix while loudness and the waveform
/// run on the stereo signal, the two halves side by side on two threads. With a cache, results are kept
/// by file content, so a file analysed once (under any name) comes back at once.
///
/// ```swift
/// let analyzer = TrackAnalyzer(cache: try AnalysisCache())
/// let a = try analyzer.analyze(path: "track.flac")
/// print(a.bpm ?? 0, a.key ?? "no key", a.loudness.integratedLUFS ?? -.infinity)
/// ```
/// Thread: any; several analyses may run at once (each uses up to two threads). Never on the audio thread.
public final class TrackAnalyzer: Sendable {
    public let options: AnalysisOptions
    public let cache: AnalysisCache?

    /// - Throws: `invalidArgument` when an option is out of range.
    public init(options: AnalysisOptions = AnalysisOptions(), cache: AnalysisCache? = nil) throws {
        try options.validate()
        self.options = options
        self.cache = cache
    }

    /// Analyses the file at `path` (any format the track loader reads). `progress` gets 0...1 from the
    /// calling thread or the analysis threads.
    /// - Throws: `trackLoad` naming the file and what is wrong with it (missing, unsupported, corrupt,
    ///   truncated, empty, too long).
    public func analyze(path: String, maxSeconds: Double = 4 * 3600,
                        progress: (@Sendable (Double) -> Void)? = nil) throws -> TrackAnalysis {
        var hash = cdsp_hash128()
        let (hashStatus, hashMessage) = withMessageBuffer { buf, len in cdsp_hash_file(path, &hash, buf, len) }
        guard hashStatus == CDSP_OK else {
            throw DJCoreError.trackLoad(path: path, reason: TrackLoadFailure(hashStatus), detail: hashMessage)
        }
        let contentHash = String(format: "%016llx%016llx", hash.hi, hash.lo)
        if let cache, var hit = cache.load(contentHash: contentHash, options: options) {
            hit.file = path
            progress?(1)
            return hit
        }
        let audio = try DecodedAudio(path: path, maxSeconds: maxSeconds)
        progress?(0.2)
        var result = try analyze(stereo: audio.samples, sampleRate: audio.sampleRate,
                                 progress: progress.map { p in { @Sendable f in p(0.2 + 0.8 * f) } })
        result.file = path
        result.contentHash = contentHash
        result.channels = Int(audio.info.channels)
        result.format = cString(fixed: audio.info.format)
        if let cache { try? cache.store(result, contentHash: contentHash) }
        return result
    }

    /// Analyses interleaved stereo samples at `sampleRate` (8 kHz ... 384 kHz).
    public func analyze(stereo samples: UnsafeBufferPointer<Float>, sampleRate: Int,
                        progress: (@Sendable (Double) -> Void)? = nil) throws -> TrackAnalysis {
        guard (8000...384_000).contains(sampleRate) else {
            throw DJCoreError.invalidArgument("sample rate \(sampleRate) Hz is outside 8000 ... 384000")
        }
        guard samples.count % 2 == 0 else {
            throw DJCoreError.invalidArgument("interleaved stereo needs an even number of samples, got \(samples.count)")
        }
        let frames = samples.count / 2
        let rate = UInt32(sampleRate)
        let base = samples.baseAddress
        var mono = [Float](repeating: 0, count: max(frames, 1))
        if let base { mono.withUnsafeMutableBufferPointer { cdsp_audio_downmix(base, Int64(frames), $0.baseAddress) } }

        let options = self.options
        let columns = max(1, min(options.waveformColumns, frames))
        let progressBox = progress.map { ProgressRelay($0) }
        let parts = mono.withUnsafeBufferPointer { monoBuffer in
            let parts = AnalysisParts(mono: monoBuffer.baseAddress!, stereo: base)
            // Rhythm + key on one thread, loudness + waveform on another.
            DispatchQueue.concurrentPerform(iterations: 2) { part in
                let monoBase = parts.mono, base = parts.stereo
                if part == 0 {
                    var config = cdsp_rhythm_config(min_bpm: options.minBPM, max_bpm: options.maxBPM)
                    var r = cdsp_rhythm_result()
                    let st: cdsp_status
                    if let relay = progressBox {
                        let ctx = Unmanaged.passUnretained(relay).toOpaque()
                        st = cdsp_rhythm_analyze(monoBase, Int64(frames), rate, &config, &r, { c, f in
                            Unmanaged<ProgressRelay>.fromOpaque(c!).takeUnretainedValue().report(0.9 * f)
                        }, ctx)
                    } else {
                        st = cdsp_rhythm_analyze(monoBase, Int64(frames), rate, &config, &r, nil, nil)
                    }
                    parts.rhythm = (st, r)
                    var k = cdsp_key_result()
                    parts.key = (cdsp_key_detect(monoBase, Int64(frames), rate, &k), k)
                } else {
                    var l = cdsp_loudness_result()
                    let stL = base.map { cdsp_loudness_measure($0, Int64(frames), 2, rate, &l) } ?? CDSP_OK
                    if base == nil { l = Self.silentLoudness }
                    parts.loudness = (stL, l)
                    var w = [Float](repeating: 0, count: columns * 6)
                    var stW = CDSP_OK
                    if frames > 0, let base {
                        stW = w.withUnsafeMutableBufferPointer {
                            cdsp_waveform_overview(base, Int64(frames), 2, rate, UInt32(columns), $0.baseAddress)
                        }
                    }
                    parts.waveform = (stW, w)
                }
            }
            return parts
        }
        defer { cdsp_rhythm_result_free(&parts.rhythm.1) }
        for (what, st) in [("rhythm", parts.rhythm.0), ("key", parts.key.0), ("loudness", parts.loudness.0),
                           ("waveform", parts.waveform.0)] where st != CDSP_OK {
            throw DJCoreError.invalidArgument("\(what) analysis failed: \(String(cString: cdsp_status_string(st)))")
        }
        progress?(1)
        return assemble(rhythm: parts.rhythm.1, key: parts.key.1, loudness: parts.loudness.1,
                        waveform: parts.waveform.1, columns: columns, frames: frames, sampleRate: sampleRate)
    }

    /// Analyses interleaved stereo samples held in an array.
    public func analyze(stereo samples: [Float], sampleRate: Int) throws -> TrackAnalysis {
        try samples.withUnsafeBufferPointer { try analyze(stereo: $0, sampleRate: sampleRate) }
    }

    private static let silentLoudness = cdsp_loudness_result(
        integrated_lufs: -.infinity, range_lu: 0, true_peak_dbtp: -.infinity, sample_peak_dbfs: -.infinity,
        max_momentary_lufs: -.infinity, max_short_term_lufs: -.infinity)

    private func assemble(rhythm r: cdsp_rhythm_result, key k: cdsp_key_result, loudness l: cdsp_loudness_result,
                          waveform w: [Float], columns: Int, frames: Int, sampleRate: Int) -> TrackAnalysis {
        func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }
        func round(_ x: Double, _ places: Double) -> Double { (x * places).rounded() / places }
        let beats = r.beat_count > 0 ? (0..<Int(r.beat_count)).map { round(r.beats[$0], 10000) } : []
        let downbeats = r.downbeat_count > 0 ? (0..<Int(r.downbeat_count)).map { round(r.downbeats[$0], 10000) } : []
        let candidates = withUnsafeBytes(of: r.candidates) { raw in
            Array(raw.bindMemory(to: cdsp_tempo_candidate.self).prefix(Int(r.candidate_count)))
        }.map { TrackAnalysis.TempoCandidate(bpm: round($0.bpm, 100), confidence: round($0.confidence, 1000)) }
        let musicalKey = MusicalKey(cdspIndex: k.key)
        let integrated = finite(l.integrated_lufs).map { round($0, 100) }
        func band(_ b: Int) -> TrackAnalysis.WaveformOverview.Band {
            .init(peak: (0..<columns).map { (w[$0 * 6 + b * 2] * 10000).rounded() / 10000 },
                  rms: (0..<columns).map { (w[$0 * 6 + b * 2 + 1] * 10000).rounded() / 10000 })
        }
        let duration = Double(frames) / Double(sampleRate)
        return TrackAnalysis(
            file: nil, contentHash: nil, duration: round(duration, 10000), sampleRate: sampleRate, channels: 2,
            format: nil, options: options,
            bpm: r.bpm > 0 ? r.bpm : nil, bpmCandidates: candidates, steadyTempo: r.steady != 0,
            beats: beats, downbeats: downbeats, beatsPerBar: r.beats_per_bar > 0 ? Int(r.beats_per_bar) : nil,
            gridConfidence: round(r.confidence, 1000),
            key: musicalKey?.name, camelot: musicalKey?.camelot, openKey: musicalKey?.openKey,
            keyConfidence: round(k.confidence, 1000), tuningCents: musicalKey == nil ? nil : round(k.tuning_cents, 10),
            loudness: .init(integratedLUFS: integrated, rangeLU: round(l.range_lu, 100),
                            truePeakDBTP: finite(l.true_peak_dbtp).map { round($0, 100) },
                            samplePeakDBFS: finite(l.sample_peak_dbfs).map { round($0, 100) },
                            targetLUFS: options.targetLUFS,
                            gainDB: integrated.map { round(options.targetLUFS - $0, 100) }),
            introEnd: r.intro_end >= 0 ? Int(r.intro_end) : nil,
            outroStart: r.outro_start >= 0 ? Int(r.outro_start) : nil,
            musicStart: round(r.music_start, 1000), musicEnd: round(r.music_end, 1000),
            waveform: .init(columns: columns, secondsPerColumn: duration / Double(columns),
                            low: band(0), mid: band(1), high: band(2)))
    }
}

/// The four results, written by the two analysis threads (each writes its own fields) and read after
/// both have finished (concurrentPerform returns only then).
private final class AnalysisParts: @unchecked Sendable {
    let mono: UnsafePointer<Float>
    let stereo: UnsafePointer<Float>?
    var rhythm = (CDSP_OK, cdsp_rhythm_result())
    var key = (CDSP_OK, cdsp_key_result())
    var loudness = (CDSP_OK, cdsp_loudness_result())
    var waveform = (CDSP_OK, [Float]())
    init(mono: UnsafePointer<Float>, stereo: UnsafePointer<Float>?) {
        self.mono = mono
        self.stereo = stereo
    }
}

/// Forwards C progress callbacks to a Swift closure.
private final class ProgressRelay: Sendable {
    let body: @Sendable (Double) -> Void
    init(_ body: @escaping @Sendable (Double) -> Void) { self.body = body }
    func report(_ f: Double) { body(f) }
}
