import CDSP

/// A whole file decoded at its own sample rate to interleaved stereo float (mono is doubled), for the
/// offline passes that read a file once: analysis and stem separation. Freed when released.
final class DecodedAudio {
    private var audio = cdsp_audio()
    private(set) var info = cdsp_audiofile_info()
    /// Interleaved stereo, `frames` × 2 samples.
    let samples: UnsafeBufferPointer<Float>
    var frames: Int { samples.count / 2 }
    var sampleRate: Int { Int(audio.sample_rate) }
    var duration: Double { Double(frames) / Double(sampleRate) }

    /// - Throws: `trackLoad` naming the file and what is wrong with it (missing, unsupported, corrupt,
    ///   truncated, empty, longer than `maxSeconds`).
    init(path: String, maxSeconds: Double) throws {
        var audio = cdsp_audio()
        var info = cdsp_audiofile_info()
        let (status, message) = withMessageBuffer { buf, len in
            cdsp_audiofile_load(path, 0, CDSP_SRC_FASTEST, maxSeconds, &audio, &info, buf, len)
        }
        guard status == CDSP_OK, let frames = audio.frames else {
            cdsp_audio_free(&audio)
            throw DJCoreError.trackLoad(path: path, reason: TrackLoadFailure(status), detail: message)
        }
        self.audio = audio
        self.info = info
        samples = UnsafeBufferPointer(start: frames, count: Int(audio.length) * 2)
    }

    deinit {
        cdsp_audio_free(&audio)
    }
}
