import CDSP

/// Output file formats for renders.
public enum AudioFileFormat: String, Sendable, Codable, CaseIterable {
    case wav16, wav24, wavFloat = "wav32f", flac16, flac24, ogg, mp3

    var c: cdsp_file_format {
        switch self {
        case .wav16: return CDSP_FILE_WAV16
        case .wav24: return CDSP_FILE_WAV24
        case .wavFloat: return CDSP_FILE_WAV_FLOAT
        case .flac16: return CDSP_FILE_FLAC16
        case .flac24: return CDSP_FILE_FLAC24
        case .ogg: return CDSP_FILE_OGG_VORBIS
        case .mp3: return CDSP_FILE_MP3
        }
    }

    /// The format a file name suggests (".flac" -> flac24, ".ogg", ".mp3"), else nil.
    public static func guess(fromPath path: String) -> AudioFileFormat? {
        let lower = path.lowercased()
        if lower.hasSuffix(".flac") { return .flac24 }
        if lower.hasSuffix(".ogg") || lower.hasSuffix(".oga") { return .ogg }
        if lower.hasSuffix(".mp3") { return .mp3 }
        if lower.hasSuffix(".wav") { return .wav24 }
        return nil
    }
}

/// Writes interleaved float audio through libsndfile. 16-bit output is TPDF-dithered with a fixed seed,
/// so the same input always gives the same file. Control side only (does I/O).
public final class AudioFileWriter {
    public let path: String
    public let channels: Int
    private var writer: OpaquePointer?
    public private(set) var framesWritten: Int64 = 0

    public init(path: String, sampleRate: Int, channels: Int = 2, format: AudioFileFormat) throws {
        self.path = path
        self.channels = channels
        var status = CDSP_OK
        let (w, message) = withMessageBuffer { buf, len in
            cdsp_audiofile_writer_create(path, UInt32(clamping: sampleRate), UInt32(clamping: channels), format.c,
                                         &status, buf, len)
        }
        guard let w else { throw DJCoreError.fileWrite(path: path, detail: message) }
        writer = w
    }

    /// Appends frames (interleaved, `channels` samples each).
    public func write(_ samples: UnsafeBufferPointer<Float>) throws {
        guard let writer else { throw DJCoreError.fileWrite(path: path, detail: "already closed") }
        let frames = Int64(samples.count / channels)
        guard frames > 0 else { return }
        let st = cdsp_audiofile_writer_write(writer, samples.baseAddress, frames)
        guard st == CDSP_OK else { throw DJCoreError.fileWrite(path: path, detail: st.message) }
        framesWritten += frames
    }

    public func write(_ samples: [Float]) throws {
        try samples.withUnsafeBufferPointer { try write($0) }
    }

    /// Finishes the file. Called by deinit if not called; call it to see errors.
    public func close() throws {
        guard let w = writer else { return }
        writer = nil
        let (st, message) = withMessageBuffer { buf, len in cdsp_audiofile_writer_close(w, buf, len) }
        guard st == CDSP_OK else { throw DJCoreError.fileWrite(path: path, detail: message) }
    }

    deinit {
        if let w = writer { _ = cdsp_audiofile_writer_close(w, nil, 0) }
    }
}
