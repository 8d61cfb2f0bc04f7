import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A private Dovecot for the tests, serving IMAP and POP3 (as far as Debian's dovecot-imapd and
/// dovecot-pop3d are installed): its own configuration, users file (one user with a plaintext
/// password), test certificate and Maildir++ mailbox in a temporary directory, listening on
/// free loopback ports, each protocol with a STARTTLS/STLS port and an implicit-TLS port. The
/// Maildir has the folders asked for as Maildir++ subfolders (`.Archive`), the usual special
/// uses configured (RFC 6154: Archive, Drafts, Junk, Sent, Trash). The system's Dovecot is
/// never touched.
///
/// `dovecot` (without -F) binds its listeners before it detaches, so once the launcher has
/// exited the ports accept connections: nothing is polled.
final class DovecotServer {
    static let dovecot = "/usr/sbin/dovecot"
    static let imap = "/usr/lib/dovecot/imap"
    static let pop3 = "/usr/lib/dovecot/pop3"

    private static func executable(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// Dovecot and its imap service (Debian's dovecot-imapd) are installed.
    static var isIMAPInstalled: Bool { executable(dovecot) && executable(imap) }
    /// Dovecot and its pop3 service (Debian's dovecot-pop3d) are installed.
    static var isPOP3Installed: Bool { executable(dovecot) && executable(pop3) }

    static let user = "alice"
    static let password = "correct horse battery"

    /// A message file: its folder ("" for INBOX, else a folder's name on disk, modified
    /// UTF-7), its file name in cur/ (flags after `:2,`), its octets, and the time it was
    /// received (the file's modification time, which Dovecot reports as INTERNALDATE).
    struct Message {
        var folder: String
        var name: String
        var content: [UInt8]
        var received: Date?

        init(folder: String = "", name: String, content: [UInt8], received: Date? = nil) {
            self.folder = folder
            self.name = name
            self.content = content
            self.received = received
        }
    }

    let directory: String
    let maildir: String
    /// The self-signed certificate of the server, also the CA file the client may trust.
    let certificate: String
    private(set) var imapPort = 0
    private(set) var imapsPort = 0
    private(set) var pop3Port = 0
    private(set) var pop3sPort = 0
    /// The owner of the mail files (the mail processes run as this account).
    let uid: uid_t
    let gid: gid_t
    private let config: String
    private var stopped = false

    /// Starts Dovecot with `folders` (names on disk, modified UTF-7, created empty) and
    /// `messages` placed into their folders; `imapCapability` replaces the capabilities the
    /// IMAP server announces after login (to play a server without some extension). With
    /// `oauth2IntrospectionURL`, XOAUTH2 and OAUTHBEARER are offered too and their bearer
    /// tokens checked by RFC 7662 introspection at that URL.
    init(folders: [String] = [], messages: [Message], imapCapability: String? = nil, oauth2IntrospectionURL: String? = nil) throws {
        directory = try Self.makeDirectory()
        maildir = directory + "/home/Maildir"
        certificate = directory + "/cert.pem"
        config = directory + "/dovecot.conf"
        for folder in [""] + folders + messages.map(\.folder) {
            for sub in ["cur", "new", "tmp"] {
                try FileManager.default.createDirectory(atPath: Self.path(maildir, folder) + "/" + sub, withIntermediateDirectories: true)
            }
        }
        for message in messages {
            let file = Self.path(maildir, message.folder) + "/cur/" + message.name
            try Data(message.content).write(to: URL(fileURLWithPath: file))
            if let received = message.received {
                try FileManager.default.setAttributes([.modificationDate: received], ofItemAtPath: file)
            }
        }
        try Self.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                      "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", directory + "/key.pem", "-out", certificate],
                     log: directory + "/openssl.log")

        // Dovecot runs mail processes as the mail user, never root; as root the tests use nobody.
        let root = getuid() == 0
        let account = root ? getpwnam("nobody") : getpwuid(getuid())
        guard let account else { throw FixtureError("no account to run the mail processes as") }
        uid = account.pointee.pw_uid
        gid = account.pointee.pw_gid
        let accountName = String(cString: account.pointee.pw_name)
        let groupName = getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? accountName
        try Self.chownTree(directory + "/home", uid: uid, gid: gid)
        try "\(Self.user):{PLAIN}\(Self.password):\(uid):\(gid)::\(directory)/home\n".write(toFile: directory + "/users", atomically: true, encoding: .utf8)

        for attempt in 1...4 {
            imapPort = try Self.freePort()
            imapsPort = try Self.freePort()
            pop3Port = try Self.freePort()
            pop3sPort = try Self.freePort()
            var protocols: [String] = []
            var services = ""
            if Self.isIMAPInstalled {
                protocols.append("imap")
                services += """
                service imap-login {
                  chroot =
                  inet_listener imap {
                    address = 127.0.0.1
                    port = \(imapPort)
                  }
                  inet_listener imaps {
                    address = 127.0.0.1
                    port = \(imapsPort)
                    ssl = yes
                  }
                }

                """
            }
            if Self.isPOP3Installed {
                protocols.append("pop3")
                services += """
                service pop3-login {
                  chroot =
                  inet_listener pop3 {
                    address = 127.0.0.1
                    port = \(pop3Port)
                  }
                  inet_listener pop3s {
                    address = 127.0.0.1
                    port = \(pop3sPort)
                    ssl = yes
                  }
                }

                """
            }
            let unprivileged = root ? "" : """
            default_internal_user = \(accountName)
            default_internal_group = \(groupName)
            default_login_user = \(accountName)

            """
            let oauth2 = try oauth2IntrospectionURL.map { try Self.oauth2PassDB(directory: directory, introspectionURL: $0) }
            try """
            protocols = \(protocols.joined(separator: " "))
            listen = 127.0.0.1
            base_dir = \(directory)/run
            state_dir = \(directory)/state
            log_path = \(directory)/dovecot.log
            \(unprivileged)ssl = yes
            ssl_cert = <\(certificate)
            ssl_key = <\(directory)/key.pem
            disable_plaintext_auth = yes
            auth_mechanisms = plain\(oauth2 == nil ? "" : " xoauth2 oauthbearer")
            mail_location = maildir:~/Maildir
            first_valid_uid = \(min(uid, 500))
            mailbox_idle_check_interval = 1 secs
            \(imapCapability.map { "imap_capability = \($0)\n" } ?? "")        namespace inbox {
              inbox = yes
              separator = .
              mailbox Archive {
                special_use = \\Archive
              }
              mailbox Drafts {
                special_use = \\Drafts
              }
              mailbox Junk {
                special_use = \\Junk
              }
              mailbox Sent {
                special_use = \\Sent
              }
              mailbox Trash {
                special_use = \\Trash
              }
            }
            \(oauth2 ?? "")passdb {
              driver = passwd-file
              args = \(directory)/users
            }
            userdb {
              driver = passwd-file
              args = \(directory)/users
            }
            \(services)service anvil {
              chroot =
            }

            """.write(toFile: config, atomically: true, encoding: .utf8)
            do {
                try Self.run([Self.dovecot, "-c", config], log: directory + "/dovecot.out")
                break
            } catch let error as FixtureError where error.description.contains("Address already in use") && attempt < 4 {
                // Another listener took a port between its choice and Dovecot's bind: choose again.
                continue
            }
        }
    }

    deinit { stop() }

    func stop() {
        guard !stopped else { return }
        stopped = true
        // `dovecot stop` signals the master and waits until it has exited.
        try? Self.run([Self.dovecot, "-c", config, "stop"], log: directory + "/dovecot-stop.out")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Dovecot's oauth2 passdb (Dovecot 2.3): the token is valid when the introspection
    /// endpoint (RFC 7662, token=... in a POST) answers `"active": true` with the user's
    /// name in `username`. Only the token mechanisms reach it.
    private static func oauth2PassDB(directory: String, introspectionURL: String) throws -> String {
        let arguments = directory + "/dovecot-oauth2.conf.ext"
        try """
        introspection_mode = post
        introspection_url = \(introspectionURL)
        force_introspection = yes
        username_attribute = username
        active_attribute = active
        active_value = true
        timeout_msecs = 10000

        """.write(toFile: arguments, atomically: true, encoding: .utf8)
        return """
        passdb {
          driver = oauth2
          mechanisms = xoauth2 oauthbearer
          args = \(arguments)
        }

        """
    }

    /// The Maildir++ directory of `folder` ("" for INBOX).
    func folderPath(_ folder: String) -> String { Self.path(maildir, folder) }

    private static func path(_ maildir: String, _ folder: String) -> String {
        folder.isEmpty ? maildir : maildir + "/." + folder
    }

    /// The file names in a folder's cur/ and new/.
    func messageFiles(in folder: String = "") throws -> [String] {
        try ["cur", "new"].flatMap { try FileManager.default.contentsOfDirectory(atPath: folderPath(folder) + "/" + $0) }.sorted()
    }

    /// Delivers a message as an MDA does (Maildir: written in tmp/, renamed into new/), owned
    /// by the mail user.
    func deliver(_ content: [UInt8], to folder: String = "", name: String) throws {
        let temporary = folderPath(folder) + "/tmp/" + name
        try Data(content).write(to: URL(fileURLWithPath: temporary))
        guard chown(temporary, uid, gid) == 0 else { throw FixtureError("chown \(temporary) failed") }
        guard rename(temporary, folderPath(folder) + "/new/" + name) == 0 else { throw FixtureError("rename into new/ failed") }
    }

    /// Kills (SIGKILL) the running mail processes named `name` ("imap", "pop3") of this
    /// Dovecot, by their process ids: the children of its master.
    func killMailProcesses(named name: String) throws {
        let masterText = try String(contentsOfFile: directory + "/run/master.pid", encoding: .utf8)
        guard let master = Int32(masterText.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw FixtureError("no master pid") }
        var killed = 0
        for entry in try FileManager.default.contentsOfDirectory(atPath: "/proc") {
            guard let pid = Int32(entry),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let command = stat[stat.index(after: open)..<close]
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard command == name, fields.count > 1, Int32(fields[1]) == master else { continue }
            if kill(pid, SIGKILL) == 0 { killed += 1 }
        }
        guard killed > 0 else { throw FixtureError("no \(name) process of this Dovecot") }
    }

    var log: String { (try? String(contentsOfFile: directory + "/dovecot.log", encoding: .utf8)) ?? "" }

    // MARK: Helpers

    struct FixtureError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    private static func makeDirectory() throws -> String {
        var template = Array((FileManager.default.temporaryDirectory.path + "/postgate-dovecot-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError("mkdtemp failed") }
        let path = String(cString: made)
        // The mail user and Dovecot's login user must reach the files.
        chmod(path, 0o755)
        return path
    }

    private static func chownTree(_ path: String, uid: uid_t, gid: gid_t) throws {
        guard chown(path, uid, gid) == 0 else { throw FixtureError("chown \(path) failed") }
        for entry in try FileManager.default.subpathsOfDirectory(atPath: path) {
            guard chown(path + "/" + entry, uid, gid) == 0 else { throw FixtureError("chown \(entry) failed") }
        }
    }

    /// A loopback port nothing listens on now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw FixtureError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw FixtureError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Runs `argv` to completion with posix_spawn, output to `log`: an empty signal mask and
    /// default signal handlers, whatever the test runner's threads block or ignore (Dovecot's
    /// master relies on SIGCHLD and SIGTERM).
    static func run(_ argv: [String], log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var arguments = argv.map { strdup($0) } + [nil]
        let variables: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"]
        var environment = variables.map { strdup($0) } + [nil]
        defer { (arguments + environment).forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, argv[0], &actions, &attributes, &arguments, &environment)
        guard status == 0 else { throw FixtureError("cannot start \(argv[0]): \(String(cString: strerror(status)))") }
        var exit: Int32 = 0
        while waitpid(pid, &exit, 0) < 0 {
            guard errno == EINTR else { throw FixtureError("waitpid \(argv[0]) failed") }
        }
        guard exit == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw FixtureError("\(argv.joined(separator: " ")) failed (status \(exit)): \(output.suffix(500))")
        }
    }
}

/// A loopback socket that listens but never answers: the kernel completes connections, and
/// no greeting ever comes.
final class SilentListener {
    let port: Int
    private let fd: Int32

    init() throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw DovecotServer.FixtureError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, length) == 0 && listen(socketFD, 4) == 0 && getsockname(socketFD, $0, &length) == 0 }
        }
        guard listening else {
            closeDescriptor(socketFD)
            throw DovecotServer.FixtureError("cannot listen on loopback")
        }
        fd = socketFD
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        closeDescriptor(fd)
    }
}

private func closeDescriptor(_ fd: Int32) {
    close(fd)
}
