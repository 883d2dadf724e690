/// What analysis knows about a track: tempo and beat grid, downbeats, key, loudness, a waveform overview
/// and where the full arrangement starts and ends. Times are seconds from the start of the file.
///
/// Encoded as JSON by `djd analyze --json` (the keys are the property names). Values that do not exist
/// for a track are null: a file without a steady pulse has `bpm` null and no beats, a file without tonal
/// content has `key` null, digital silence has no loudness.
public struct TrackAnalysis: Sendable, Codable, Equatable {
    /// The analyser's version; a cached result of another version is not used.
    public static let analyzerVersion = "djcore-analysis/1"

    public var analyzer: String = TrackAnalysis.analyzerVersion
    /// The file analysed (as given), and a hash of its content (the cache key).
    public var file: String?
    public var contentHash: String?
    public var duration: Double
    public var sampleRate: Int
    public var channels: Int
    public var format: String?
    public var options: AnalysisOptions

    // Rhythm.
    /// Tempo to two decimals; nil when there is no steady pulse.
    public var bpm: Double?
    /// The tempo and its octave relatives (half, double, 2/3, 3/2) with the confidence that each is the
    /// beat, best first.
    public var bpmCandidates: [TempoCandidate]
    /// True when the beats are one straight grid (constant tempo); false when they follow a wandering tempo.
    public var steadyTempo: Bool
    /// Every beat, from the start to the end of the music, through intros and breakdowns without drums.
    public var beats: [Double]
    /// The first beat of every bar (a subset of `beats`).
    public var downbeats: [Double]
    /// 4 or 3; nil without beats.
    public var beatsPerBar: Int?
    /// 0...1: how well the grid fits the music (near 0 for noise, silence or no steady pulse).
    public var gridConfidence: Double

    // Key.
    /// "A minor", "F# major"; nil when there is no tonal content.
    public var key: String?
    /// Camelot ("8A") and Open Key ("1m") codes of `key`.
    public var camelot: String?
    public var openKey: String?
    public var keyConfidence: Double
    /// Deviation of the track's tuning from A = 440 Hz, in cents.
    public var tuningCents: Double?

    // Loudness (EBU R128).
    public var loudness: Loudness

    // Arrangement, for mixing.
    /// Index in `beats` where the full arrangement starts (the end of the intro) and where it ends (the
    /// start of the outro); nil when the track has no clear arrangement.
    public var introEnd: Int?
    public var outroStart: Int?
    /// First and last audible moments (within 60 dB of the loudest).
    public var musicStart: Double
    public var musicEnd: Double

    /// Nil only when left out on purpose (`djd analyze --no-waveform`).
    public var waveform: WaveformOverview?

    public struct TempoCandidate: Sendable, Codable, Equatable {
        public var bpm: Double
        public var confidence: Double
    }

    public struct Loudness: Sendable, Codable, Equatable {
        /// Integrated loudness (LUFS); nil for silence.
        public var integratedLUFS: Double?
        /// Loudness range (LU, EBU Tech 3342).
        public var rangeLU: Double
        /// True peak (dBTP, 4x oversampled) and sample peak (dBFS); nil for digital silence.
        public var truePeakDBTP: Double?
        public var samplePeakDBFS: Double?
        /// The target and the gain that reaches it (target minus integrated); nil for silence.
        public var targetLUFS: Double
        public var gainDB: Double?
    }

    /// Per column of the overview, the peak and RMS (linear, 1 = full scale) of the low (< 250 Hz),
    /// mid (250 Hz - 4 kHz) and high (> 4 kHz) bands of the mono mix.
    public struct WaveformOverview: Sendable, Codable, Equatable {
        public var columns: Int
        public var secondsPerColumn: Double
        public var low: Band
        public var mid: Band
        public var high: Band

        public struct Band: Sendable, Codable, Equatable {
            public var peak: [Float]
            public var rms: [Float]
        }
    }

    /// The key as a value, when there is one.
    public var musicalKey: MusicalKey? { key.flatMap(MusicalKey.init) }

    /// Beat period in seconds, when there is a tempo.
    public var beatPeriod: Double? { bpm.map { 60.0 / $0 } }
}

/// Settings that change what analysis produces (and so are part of the cache key).
public struct AnalysisOptions: Sendable, Codable, Hashable {
    /// Preferred tempo range (BPM). Between two tempi an octave apart the one inside wins unless the
    /// music clearly says otherwise. 30 <= minBPM, maxBPM <= 300, maxBPM >= 1.5 * minBPM.
    public var minBPM: Double
    public var maxBPM: Double
    /// Loudness target for the gain (LUFS), -70 ... 0.
    public var targetLUFS: Double
    /// Columns of the waveform overview, 1 ... 100 000 (fewer when the file has fewer frames).
    public var waveformColumns: Int

    public init(minBPM: Double = 70, maxBPM: Double = 180, targetLUFS: Double = -14, waveformColumns: Int = 1024) {
        self.minBPM = minBPM
        self.maxBPM = maxBPM
        self.targetLUFS = targetLUFS
        self.waveformColumns = waveformColumns
    }

    /// Throws `invalidArgument` naming the first setting that is out of range.
    public func validate() throws {
        guard minBPM.isFinite, maxBPM.isFinite, minBPM >= 30, maxBPM <= 300 else {
            throw DJCoreError.invalidArgument("tempo range \(minBPM)-\(maxBPM) BPM must lie within 30-300 BPM")
        }
        guard maxBPM >= 1.5 * minBPM else {
            throw DJCoreError.invalidArgument(
                "tempo range \(minBPM)-\(maxBPM) BPM is too narrow: the top must be at least 1.5 times the bottom")
        }
        guard targetLUFS.isFinite, (-70...0).contains(targetLUFS) else {
            throw DJCoreError.invalidArgument("loudness target \(targetLUFS) LUFS must lie within -70 ... 0")
        }
        guard (1...100_000).contains(waveformColumns) else {
            throw DJCoreError.invalidArgument("waveform columns \(waveformColumns) must lie within 1 ... 100000")
        }
    }
}
