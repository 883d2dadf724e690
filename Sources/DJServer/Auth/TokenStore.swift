import DJCore
import Foundation

/// The daemon's bearer tokens: one with the `admin` role (every call) and one `read-only` (GET calls).
///
/// Created on first start in `<state>/tokens.json` with permissions 0600 (owner only) and printed once
/// by the daemon; later starts read them back. A token file anyone else can read is refused (say so and
/// fix the permissions), as ssh does with private keys. Comparison is constant-time.
public struct TokenStore: Sendable {
    public let path: String
    public let admin: String
    public let readOnly: String
    /// True when this start created the tokens (the daemon prints them once, then).
    public let created: Bool

    private struct File: Codable {
        var admin: String
        var readOnly: String
    }

    /// Reads the tokens from `directory/tokens.json`, creating them (0600) if the file does not exist.
    public init(directory: String) throws {
        path = (directory as NSString).appendingPathComponent("tokens.json")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        if FileManager.default.fileExists(atPath: path) {
            var st = stat()
            guard stat(path, &st) == 0 else { throw DJCoreError.fileWrite(path: path, detail: "cannot read the token file") }
            guard st.st_mode & 0o077 == 0 else {
                throw DJCoreError.invalidArgument("the token file \(path) can be read by others (mode \(String(st.st_mode & 0o777, radix: 8))); run: chmod 600 \(path)")
            }
            guard let data = FileManager.default.contents(atPath: path),
                  let f = try? JSONDecoder().decode(File.self, from: data), f.admin.count >= 32, f.readOnly.count >= 32 else {
                throw DJCoreError.invalidArgument("the token file \(path) is damaged; delete it and restart to make new tokens")
            }
            admin = f.admin
            readOnly = f.readOnly
            created = false
        } else {
            let f = File(admin: Self.newToken(), readOnly: Self.newToken())
            let data = try JSONEncoder().encode(f)
            // O_EXCL + 0600 from the first byte: the secret is never readable by others, not even briefly.
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else {
                throw DJCoreError.fileWrite(path: path, detail: "cannot create the token file: \(String(cString: strerror(errno)))")
            }
            defer { close(fd) }
            let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written == data.count, fsync(fd) == 0 else {
                throw DJCoreError.fileWrite(path: path, detail: "cannot write the token file")
            }
            admin = f.admin
            readOnly = f.readOnly
            created = true
        }
    }

    /// 32 random bytes as 64 hex digits.
    static func newToken() -> String {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined()
    }

    /// The role of a presented token (constant-time compare), or nil if it is not one of ours.
    public func role(of token: String) -> APIRole? {
        if Self.equal(token, admin) { return .admin }
        if Self.equal(token, readOnly) { return .readOnly }
        return nil
    }

    static func equal(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}
