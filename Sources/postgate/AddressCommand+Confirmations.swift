import ArgumentParser
import Foundation
import PostgateDirectory
import PostgateMaildir
import PostgateMessage
import PostgatePolicy
import PostgateStore

extension AddressCommand {
    /// `postgate address confirmations [EMAIL]`.
    struct Confirmations: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the forwarding confirmations providers sent to the addresses.",
            discussion: """
            When a customer sets up forwarding to a channel address, their provider may send a \\
            message asking to confirm it. Postgate recognises these (the provider's known sender, \\
            or a subject asking to confirm forwarding), keeps them in the address's mailbox with \\
            the keyword $ForwardingConfirmation and out of queues and sessions, and lists them \\
            here with the confirmation link and code found in them, newest first. With --json: \\
            an array of {address, received, from, subject, link, code, file}.
            """
        )

        @Argument(help: "only this address (or an alias of it)") var email: String?
        @OptionGroup var options: StoreOptions

        struct Entry: Encodable {
            var address: String
            var received: Date
            var from: String?
            var subject: String?
            var link: String?
            var code: String?
            var file: String?

            enum CodingKeys: String, CodingKey { case address, received, from, subject, link, code, file }

            /// Every key, `null` where nothing was found, so scripts see a stable set.
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(address, forKey: .address)
                try c.encode(received, forKey: .received)
                try c.encode(from, forKey: .from)
                try c.encode(subject, forKey: .subject)
                try c.encode(link, forKey: .link)
                try c.encode(code, forKey: .code)
                try c.encode(file, forKey: .file)
            }
        }

        func run() throws {
            let address = email.map(parseAddress)
            let store = try options.openStore()
            let messages = try reportingFailure { () throws(StoreError) in
                try store.labelled(PolicyVerdict.forwardingConfirmationLabel, address: address)
            }
            let entries = try messages.map { message in
                let file = try reportingFailure { () throws(StoreError) in try store.messageFile(message) }
                let subject = message.subject.map(EncodedWordDecoder.decode)
                var text = ""
                if let file, let root = try? MIMEParser().parse(fileAtPath: file) {
                    text = (try? MIMETextExtractor.text(of: root, from: MIMEFileSource(path: file))) ?? ""
                }
                let details = ForwardingConfirmation.details(subject: subject, text: text)
                return Entry(address: message.rcptTo, received: message.internalDate, from: message.headerFrom.map(EncodedWordDecoder.decode),
                             subject: subject, link: details.link, code: details.code, file: file)
            }
            try options.print(entries) {
                guard !entries.isEmpty else { return "no forwarding confirmations" }
                return entries.map { entry in
                    [("address", entry.address), ("received", entry.received.formatted(.iso8601)), ("from", entry.from ?? ""),
                     ("subject", entry.subject ?? ""), ("link", entry.link ?? "(none found)"), ("code", entry.code ?? "(none found)")]
                        .map { ($0.0 + ":").padding(toLength: 10, withPad: " ", startingAt: 0) + $0.1 }.joined(separator: "\n")
                }.joined(separator: "\n\n")
            }
        }
    }
}
