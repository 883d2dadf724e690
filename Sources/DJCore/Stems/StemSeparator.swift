import CDSP
import Foundation

/// Splits a track into drums, bass and other, without a neural network: harmonic/percussive/residual
/// separation by median filtering of the STFT (Fitzgerald 2010; Driedger, Müller, Disch 2014) with soft
/// masks, the harmonic part split at the bass crossover. The work is done in CDSP (`stems.c`).
///
/// The masks sum to 1 in every time-frequency bin and the STFT reconstructs perfectly, so the stems sum
/// back to the mix (to ~1e-6 of full scale). Both channels get the same masks, computed from the mid.
/// What it cannot do: tell a vocal from a synth (both land in `other`), or a long 808 kick or tom tail
/// from a bass note (sustained low tones are "bass"); drums lose a little of their tonal body and the
/// harmonic stems keep a little of the attacks.
///
/// ```swift
/// let separator = try StemSeparator()
/// let result = try separator.separate(path: "track.flac", outputDirectory: "stems")
/// print(result.stems["drums"]!)   // stems/track.drums.wav
/// ```
/// Memory: the decoded track plus a few MB (the separation streams with a ~0.2 s look-ahead).
/// Thread: any; one separator may run several separations at once (each has its own C state).
/// Never on the audio thread.
public final class StemSeparator: Sendable {
    public let options: StemOptions

    /// Frames per block between progress reports and cancellation checks (~1.5 s at 44.1 kHz).
    static let blockFrames = 65536

    /// - Throws: `invalidArgument` naming a setting that is out of range.
    public init(options: StemOptions = StemOptions()) throws {
        try options.validate()
        self.options = options
    }

    /// Separates the file at `path` (any format the track loader reads) at its own rate and writes
    /// `<outputDirectory>/<basename>.<stem>.wav` for every stem (stereo, `options.format`), replacing files
    /// of those names. The directory is created if missing. Each file appears only when all are complete:
    /// a failure or a cancellation leaves nothing behind.
    /// - Parameters:
    ///   - progress: 0 ... 1, on the calling thread, after every block.
    ///   - isCancelled: asked before every block (~1.5 s of audio); `true` stops the work.
    /// - Throws: `trackLoad` (missing, unsupported, corrupt ... file), `fileWrite`, `invalidArgument`
    ///   (an option the file's rate does not allow), `cancelled`.
    public func separate(path: String, outputDirectory: String, maxSeconds: Double = 4 * 3600,
                         progress: ((Double) -> Void)? = nil,
                         isCancelled: (() -> Bool)? = nil) throws -> StemSeparation {
        if isCancelled?() == true { throw DJCoreError.cancelled("stem separation of \(path) cancelled") }
        let audio = try DecodedAudio(path: path, maxSeconds: maxSeconds)
        let rate = audio.sampleRate
        try options.validate(sampleRate: rate)
        progress?(0.05)

        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        } catch {
            throw DJCoreError.fileWrite(path: outputDirectory, detail: "cannot create the directory: \(error.localizedDescription)")
        }
        let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        var finalPaths: [Stem: String] = [:], partPaths: [Stem: String] = [:]
        for stem in Stem.allCases {
            let name = "\(base).\(stem.rawValue).wav"
            finalPaths[stem] = (outputDirectory as NSString).appendingPathComponent(name)
            partPaths[stem] = (outputDirectory as NSString).appendingPathComponent(".\(name).part")
        }
        var committed = false
        defer { if !committed { for p in partPaths.values { try? fm.removeItem(atPath: p) } } }

        var writers: [AudioFileWriter] = []
        for stem in Stem.allCases {
            writers.append(try AudioFileWriter(path: partPaths[stem]!, sampleRate: rate, channels: 2, format: options.format))
        }
        let input = audio.samples
        try run(stereo: input, sampleRate: rate, what: path,
                progress: progress.map { p in { f in p(0.05 + 0.93 * f) } }, isCancelled: isCancelled) { outs, count in
            for (k, w) in writers.enumerated() {
                try w.write(UnsafeBufferPointer(start: outs[k], count: count * 2))
            }
        }
        for w in writers { try w.close() }
        for stem in Stem.allCases {
            guard rename(partPaths[stem]!, finalPaths[stem]!) == 0 else {
                let reason = String(cString: strerror(errno))
                throw DJCoreError.fileWrite(path: finalPaths[stem]!, detail: "cannot move the finished stem into place: \(reason)")
            }
        }
        committed = true
        progress?(1)
        return StemSeparation(
            source: path, stems: Dictionary(uniqueKeysWithValues: finalPaths.map { ($0.key.rawValue, $0.value) }),
            sampleRate: rate, duration: audio.duration, options: options)
    }

    /// Separates interleaved stereo samples at `sampleRate` (8 kHz ... 384 kHz). Every stem is interleaved
    /// stereo of the input's length; the stems sum to the input.
    /// - Throws: `invalidArgument` (odd sample count, a rate or option out of range), `cancelled`.
    public func separate(stereo samples: UnsafeBufferPointer<Float>, sampleRate: Int,
                         progress: ((Double) -> Void)? = nil,
                         isCancelled: (() -> Bool)? = nil) throws -> [Stem: [Float]] {
        guard samples.count % 2 == 0 else {
            throw DJCoreError.invalidArgument("interleaved stereo needs an even number of samples, got \(samples.count)")
        }
        try options.validate(sampleRate: sampleRate)
        var result: [[Float]] = Stem.allCases.map { _ in [] }
        for k in result.indices { result[k].reserveCapacity(samples.count) }
        try run(stereo: samples, sampleRate: sampleRate, what: "\(samples.count / 2) frames",
                progress: progress, isCancelled: isCancelled) { outs, count in
            for k in result.indices { result[k].append(contentsOf: UnsafeBufferPointer(start: outs[k], count: count * 2)) }
        }
        return Dictionary(uniqueKeysWithValues: zip(Stem.allCases, result))
    }

    /// Separates interleaved stereo samples held in an array.
    public func separate(stereo samples: [Float], sampleRate: Int, progress: ((Double) -> Void)? = nil,
                         isCancelled: (() -> Bool)? = nil) throws -> [Stem: [Float]] {
        try samples.withUnsafeBufferPointer {
            try separate(stereo: $0, sampleRate: sampleRate, progress: progress, isCancelled: isCancelled)
        }
    }

    /// Streams `samples` through a CDSP separator in blocks; `sink` gets each block's stems (pointers in
    /// `Stem.allCases` order, `count` stereo frames each).
    private func run(stereo samples: UnsafeBufferPointer<Float>, sampleRate: Int, what: String,
                     progress: ((Double) -> Void)?, isCancelled: (() -> Bool)?,
                     sink: ([UnsafeMutablePointer<Float>], Int) throws -> Void) throws {
        let frames = samples.count / 2
        if isCancelled?() == true { throw DJCoreError.cancelled("stem separation of \(what) cancelled") }
        guard frames > 0, let base = samples.baseAddress else { progress?(1); return }
        let separator = try StemProcessor(options: options, sampleRate: sampleRate, channels: 2)
        let outs = (0..<Int(CDSP_STEM_COUNT.rawValue)).map { _ in
            UnsafeMutablePointer<Float>.allocate(capacity: separator.capacity * 2)
        }
        defer { for p in outs { p.deallocate() } }
        let outPointers: [UnsafeMutablePointer<Float>?] = outs
        var done = 0
        while done < frames {
            if done > 0, isCancelled?() == true {
                throw DJCoreError.cancelled(String(format: "stem separation of %@ cancelled at %.1f of %.1f s", what,
                                                   Double(done) / Double(sampleRate), Double(frames) / Double(sampleRate)))
            }
            var used: Int64 = 0
            let made = cdsp_stems_process(separator.handle, base + 2 * done, Int64(frames - done), outPointers, &used)
            if made > 0 { try sink(outs, Int(made)) }
            done += Int(used)
            progress?(Double(done) / Double(frames))
        }
        let made = cdsp_stems_flush(separator.handle, outPointers)
        if made > 0 { try sink(outs, Int(made)) }
    }
}

/// Owns one `cdsp_stems` object (STYLE 10: create in init, destroy in deinit).
final class StemProcessor {
    let handle: OpaquePointer
    /// Frames each output buffer must hold.
    let capacity: Int
    let latency: Int

    init(options: StemOptions, sampleRate: Int, channels: Int) throws {
        var config = cdsp_stems_config_default(UInt32(clamping: sampleRate), UInt32(clamping: channels))
        config.fft_size = UInt32(options.fftSize(at: sampleRate))
        config.hop = UInt32(options.hop ?? Int(config.fft_size) / 4)
        config.harmonic_seconds = options.harmonicSeconds
        config.percussive_hz = options.percussiveHz
        config.separation = options.separation
        config.mask_power = options.maskPower
        config.bass_crossover_hz = options.bassCrossoverHz
        config.max_block_frames = UInt32(StemSeparator.blockFrames)
        var status = CDSP_OK
        guard let h = cdsp_stems_create(&config, &status) else {
            throw DJCoreError.invalidArgument("stem separation at \(sampleRate) Hz cannot start: \(status.message)")
        }
        handle = h
        capacity = Int(cdsp_stems_output_capacity(h))
        latency = Int(cdsp_stems_latency(h))
    }

    deinit { cdsp_stems_destroy(handle) }
}
