import CDSP
import Synchronization

/// Quality of a sample-rate converter (libsamplerate's sinc converters).
public enum ResampleQuality: String, Sendable, Codable, CaseIterable {
    case best, medium, fastest
    var c: cdsp_src_quality {
        switch self {
        case .best: return CDSP_SRC_BEST
        case .medium: return CDSP_SRC_MEDIUM
        case .fastest: return CDSP_SRC_FASTEST
        }
    }
}

/// Decoded audio ready for a deck: interleaved stereo float at the engine's rate.
///
/// Loading decodes with libsndfile (WAV, AIFF, FLAC, Ogg Vorbis/Opus, MP3) and converts the rate with
/// libsamplerate; do it on any thread but the audio thread. A `Track` is immutable once made, so it can
/// sit on several decks at once; the engine keeps it alive while any deck uses it and lets it go only
/// after the audio thread has handed it back.
public final class Track: Sendable {
    private static let nextID = Atomic<UInt64>(1)

    /// Where it came from (a path, or a name given by the maker).
    public let source: String
    /// The file's own properties, before conversion (nil for generated tracks).
    public let sourceRate: Int?
    public let sourceChannels: Int?
    public let sourceFormat: String?
    /// Engine rate (frames per second) of `frames`.
    public let sampleRate: Int
    /// Length in frames at `sampleRate`.
    public let frameCount: Int64
    public let id: UInt64

    /// The C view the engine reads: a pointer to it travels through the command ring.
    nonisolated(unsafe) let cTrack: UnsafeMutablePointer<cdsp_track>
    nonisolated(unsafe) private let storage: UnsafeMutablePointer<Float>
    private let ownedByC: Bool

    public var duration: Double { Double(frameCount) / Double(sampleRate) }

    /// Decodes `path` and converts it to `sampleRate`.
    /// - Throws: `DJCoreError.trackLoad` naming the file and the problem (missing, unreadable,
    ///   unsupported, corrupt, truncated, empty, too long).
    public static func load(path: String, sampleRate: Int = 48000, quality: ResampleQuality = .medium,
                            maxSeconds: Double = 4 * 3600) throws -> Track {
        guard sampleRate >= 8000 && sampleRate <= 384_000 else {
            throw DJCoreError.invalidArgument("sample rate \(sampleRate) Hz is outside 8000 ... 384000")
        }
        var audio = cdsp_audio()
        var info = cdsp_audiofile_info()
        let (status, message) = withMessageBuffer { buf, len in
            cdsp_audiofile_load(path, UInt32(sampleRate), quality.c, maxSeconds, &audio, &info, buf, len)
        }
        guard status == CDSP_OK, let frames = audio.frames else {
            throw DJCoreError.trackLoad(path: path, reason: TrackLoadFailure(status), detail: message)
        }
        let format = cString(fixed: info.format)
        return Track(source: path, frames: frames, length: audio.length, sampleRate: Int(audio.sample_rate),
                     sourceRate: Int(info.sample_rate), sourceChannels: Int(info.channels), sourceFormat: format,
                     ownedByC: true)
    }

    /// A track from interleaved stereo samples already at `sampleRate` (generators, tests, stems).
    public convenience init(interleavedStereo samples: [Float], sampleRate: Int, name: String = "generated") throws {
        guard samples.count % 2 == 0 else {
            throw DJCoreError.invalidArgument("interleaved stereo needs an even number of samples, got \(samples.count)")
        }
        guard sampleRate >= 8000 && sampleRate <= 384_000 else {
            throw DJCoreError.invalidArgument("sample rate \(sampleRate) Hz is outside 8000 ... 384000")
        }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(samples.count, 2))
        samples.withUnsafeBufferPointer { p.initialize(from: $0.baseAddress!, count: samples.count) }
        self.init(source: name, frames: p, length: Int64(samples.count / 2), sampleRate: sampleRate,
                  sourceRate: nil, sourceChannels: nil, sourceFormat: nil, ownedByC: false)
    }

    private init(source: String, frames: UnsafeMutablePointer<Float>, length: Int64, sampleRate: Int,
                 sourceRate: Int?, sourceChannels: Int?, sourceFormat: String?, ownedByC: Bool) {
        self.source = source
        self.storage = frames
        self.frameCount = length
        self.sampleRate = sampleRate
        self.sourceRate = sourceRate
        self.sourceChannels = sourceChannels
        self.sourceFormat = sourceFormat
        self.ownedByC = ownedByC
        self.id = Track.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        cTrack = .allocate(capacity: 1)
        cTrack.initialize(to: cdsp_track(frames: UnsafePointer(frames), length: length,
                                         sample_rate: UInt32(sampleRate), channels: 2, id: id))
    }

    deinit {
        if ownedByC {
            var a = cdsp_audio(frames: storage, length: frameCount, sample_rate: UInt32(sampleRate))
            cdsp_audio_free(&a)
        } else {
            storage.deallocate()
        }
        cTrack.deallocate()
    }

    /// Reads the samples (interleaved stereo). Control side only.
    public func withSamples<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage, count: Int(frameCount) * 2))
    }

    /// Header facts of a file without decoding it.
    public static func probe(path: String) throws -> (frames: Int64?, sampleRate: Int, channels: Int, format: String) {
        var info = cdsp_audiofile_info()
        let (status, message) = withMessageBuffer { buf, len in cdsp_audiofile_probe(path, &info, buf, len) }
        guard status == CDSP_OK else {
            throw DJCoreError.trackLoad(path: path, reason: TrackLoadFailure(status), detail: message)
        }
        let format = cString(fixed: info.format)
        return (info.frames < 0 ? nil : info.frames, Int(info.sample_rate), Int(info.channels), format)
    }
}
