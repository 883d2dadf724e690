/// One of the stems `StemSeparator` makes. The three together sum to the mix.
public enum Stem: String, Sendable, Codable, CaseIterable, Hashable {
    /// Percussive: short broadband events (kicks, snares, hats, claps), with their attacks.
    case drums
    /// Sustained (harmonic) content below the bass crossover (~150 Hz).
    case bass
    /// Everything else: sustained content above the crossover (chords, leads, vocals) and the residual
    /// (noise-like or ambiguous content that is neither clearly sustained nor clearly percussive).
    case other
}

/// Settings of the classical stem separation (see `StemSeparator`). The defaults suit music at 44.1 or
/// 48 kHz; every value is checked by `validate(sampleRate:)`.
public struct StemOptions: Sendable, Codable, Hashable {
    /// STFT window (a power of two, 256 ... 65536); nil: 4096 up to 48 kHz, 8192 up to 96 kHz,
    /// 16384 up to 192 kHz, 32768 above (about 90 ms at every rate).
    public var fftSize: Int?
    /// Frames between STFT frames (divides fftSize, 16 ... fftSize / 2); nil: fftSize / 4.
    public var hop: Int?
    /// Length of the harmonic (time-direction) median filter, 0.02 ... 2 s.
    public var harmonicSeconds: Double
    /// Length of the percussive (frequency-direction) median filter, 20 ... 5000 Hz.
    public var percussiveHz: Double
    /// Separation factor beta, 1 ... 10: a bin is harmonic when its harmonic estimate beats the percussive
    /// one by this factor (and the other way round); in between it goes to the residual (part of `other`).
    /// 1: no residual.
    public var separation: Double
    /// Soft-mask exponent, 0.5 ... 8 (2: Wiener-like; larger is closer to binary masks).
    public var maskPower: Double
    /// Centre of the one-octave bass/other crossover, 20 ... 2000 Hz (and below 0.3 x the sample rate).
    public var bassCrossoverHz: Double
    /// Sample format of the stem files: `.wavFloat` (32-bit float, the default: the stems sum back to the
    /// mix and never clip) or `.wav24`.
    public var format: AudioFileFormat

    public init(fftSize: Int? = nil, hop: Int? = nil, harmonicSeconds: Double = 0.3, percussiveHz: Double = 150,
                separation: Double = 1, maskPower: Double = 2, bassCrossoverHz: Double = 150,
                format: AudioFileFormat = .wavFloat) {
        self.fftSize = fftSize
        self.hop = hop
        self.harmonicSeconds = harmonicSeconds
        self.percussiveHz = percussiveHz
        self.separation = separation
        self.maskPower = maskPower
        self.bassCrossoverHz = bassCrossoverHz
        self.format = format
    }

    /// The window used at `sampleRate`.
    public func fftSize(at sampleRate: Int) -> Int {
        if let fftSize { return fftSize }
        return sampleRate <= 48000 ? 4096 : sampleRate <= 96000 ? 8192 : sampleRate <= 192_000 ? 16384 : 32768
    }

    /// Throws `invalidArgument` naming the first setting that is out of range. With a sample rate, also
    /// the checks that depend on it.
    public func validate(sampleRate: Int? = nil) throws {
        if let n = fftSize, !(256...65536).contains(n) || n & (n - 1) != 0 {
            throw DJCoreError.invalidArgument("FFT size \(n) must be a power of two within 256 ... 65536")
        }
        if let h = hop {
            guard h >= 16, fftSize.map({ h <= $0 / 2 && $0 % h == 0 }) ?? true else {
                throw DJCoreError.invalidArgument(
                    "hop \(h) must be at least 16, divide the FFT size\(fftSize.map { " \($0)" } ?? "") and be at most half of it")
            }
        }
        guard harmonicSeconds.isFinite, (0.02...2).contains(harmonicSeconds) else {
            throw DJCoreError.invalidArgument("harmonic median length \(harmonicSeconds) s must lie within 0.02 ... 2")
        }
        guard percussiveHz.isFinite, (20...5000).contains(percussiveHz) else {
            throw DJCoreError.invalidArgument("percussive median length \(percussiveHz) Hz must lie within 20 ... 5000")
        }
        guard separation.isFinite, (1...10).contains(separation) else {
            throw DJCoreError.invalidArgument("separation factor \(separation) must lie within 1 ... 10")
        }
        guard maskPower.isFinite, (0.5...8).contains(maskPower) else {
            throw DJCoreError.invalidArgument("mask power \(maskPower) must lie within 0.5 ... 8")
        }
        guard bassCrossoverHz.isFinite, (20...2000).contains(bassCrossoverHz) else {
            throw DJCoreError.invalidArgument("bass crossover \(bassCrossoverHz) Hz must lie within 20 ... 2000")
        }
        guard format == .wavFloat || format == .wav24 else {
            throw DJCoreError.invalidArgument("stem file format '\(format.rawValue)' is not one of wav32f, wav24")
        }
        guard let rate = sampleRate else { return }
        guard (8000...384_000).contains(rate) else {
            throw DJCoreError.invalidArgument("sample rate \(rate) Hz is outside 8000 ... 384000")
        }
        let n = fftSize(at: rate), h = hop ?? n / 4
        guard h <= n / 2, n % h == 0 else {
            throw DJCoreError.invalidArgument("hop \(h) must divide the FFT size \(n) (at \(rate) Hz) and be at most \(n / 2)")
        }
        let frames = Int((harmonicSeconds * Double(rate) / Double(h)).rounded())
        guard frames <= 511 else {
            throw DJCoreError.invalidArgument(
                "harmonic median of \(harmonicSeconds) s is \(frames) hops of \(h) frames at \(rate) Hz; at most 511")
        }
        let bins = Int((percussiveHz * Double(n) / Double(rate)).rounded())
        guard bins <= 8191 else {
            throw DJCoreError.invalidArgument(
                "percussive median of \(percussiveHz) Hz is \(bins) bins of the \(n)-point FFT; at most 8191")
        }
    }
}

/// What `StemSeparator.separate(path:outputDirectory:)` made: one file per stem.
public struct StemSeparation: Sendable, Codable, Equatable {
    /// The source file, as given.
    public var source: String
    /// Stem name ("drums", "bass", "other") -> path of its file.
    public var stems: [String: String]
    /// The stems' rate: the source's own.
    public var sampleRate: Int
    /// Seconds.
    public var duration: Double
    public var options: StemOptions
}
