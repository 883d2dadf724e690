import CDSP
import Foundation

/// Analysis results on disk, keyed by the file's content (a 128-bit hash of its bytes), the analyser
/// version and the options, so a renamed or copied file is not analysed again and a changed one is.
///
/// One JSON file per result under `directory` (default `$XDG_CACHE_HOME/djcore/analysis`, else
/// `~/.cache/djcore/analysis`). Writes go to a temporary file renamed into place, so a reader never sees
/// half a result and two processes may share the directory. A file that does not decode (damaged, or
/// from another version) is a miss.
public struct AnalysisCache: Sendable {
    public let directory: String

    /// - Throws: `fileWrite` when the directory cannot be created.
    public init(directory: String? = nil) throws {
        let dir = directory ?? AnalysisCache.defaultDirectory
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw DJCoreError.fileWrite(path: dir, detail: "cannot create the analysis cache directory: \(error.localizedDescription)")
        }
        self.directory = dir
    }

    public static var defaultDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/djcore/analysis" }
        let home = env["HOME"] ?? NSHomeDirectory()
        return home + "/.cache/djcore/analysis"
    }

    func path(contentHash: String, options: AnalysisOptions) -> String {
        let key = "\(TrackAnalysis.analyzerVersion)|\(options.minBPM)|\(options.maxBPM)|\(options.targetLUFS)|\(options.waveformColumns)"
        let h = key.utf8CString.withUnsafeBufferPointer { cdsp_hash_bytes($0.baseAddress, $0.count - 1) }
        return "\(directory)/\(contentHash)-\(String(h.lo, radix: 16)).json"
    }

    public func load(contentHash: String, options: AnalysisOptions) -> TrackAnalysis? {
        guard let data = FileManager.default.contents(atPath: path(contentHash: contentHash, options: options)),
              let a = try? JSONDecoder().decode(TrackAnalysis.self, from: data),
              a.analyzer == TrackAnalysis.analyzerVersion, a.options == options, a.contentHash == contentHash
        else { return nil }
        return a
    }

    public func store(_ analysis: TrackAnalysis, contentHash: String) throws {
        let final = path(contentHash: contentHash, options: analysis.options)
        let temp = final + ".\(ProcessInfo.processInfo.processIdentifier).tmp"
        do {
            let data = try JSONEncoder().encode(analysis)
            try data.write(to: URL(fileURLWithPath: temp))
            if rename(temp, final) != 0 {
                let e = String(cString: strerror(errno))
                unlink(temp)
                throw DJCoreError.fileWrite(path: final, detail: e)
            }
        } catch let e as DJCoreError {
            throw e
        } catch {
            unlink(temp)
            throw DJCoreError.fileWrite(path: final, detail: error.localizedDescription)
        }
    }
}
