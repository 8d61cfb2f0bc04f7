import ArgumentParser
import Foundation
import PostgateGateway
import PostgateDirectory
import PostgateIndex
import PostgateMaildir
import PostgateMessage
import PostgateOutbound
import PostgatePolicy
import PostgateStore

extension AddressCommand {
    /// `postgate address verify-forwarding EMAIL --public ADDRESS`.
    struct VerifyForwarding: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-forwarding",
            abstract: "Check that a customer's public address forwards to the channel address, end to end.",
            discussion: """
            Sends a test message as EMAIL to the customer's public address (--public) through \\
            the outbound queue, as replies go, and waits until the customer's forwarding brings \\
            it back to EMAIL. `postgate serve` must be running: it sends the message and receives \\
            it again. The message carries a token Postgate signed in its Message-ID and subject; \\
            when it comes back it is kept in EMAIL's mailbox with the keyword $ForwardingCheck, \\
            out of queues, sessions and automation. No Reply-To and no copy to the contact \\
            centre's address, so only the forwarding can bring it back.

            Exit status 0 when it came back; 1 when it could not be sent or did not come back \\
            within --timeout, with what went wrong. A provider that asks to confirm new \\
            forwarding sends its request to EMAIL: see `postgate address confirmations`. With \\
            --json: {address, public, state (arrived, failed, timeout), token, messageId, \\
            outboundId, sent, delivery, arrived, seconds, envelopeSender, receivedFields, dkim, \\
            error}.
            """
        )

        @Argument(help: "the channel address the customer's mail should reach") var email: String
        @Option(name: .customLong("public"), help: ArgumentHelp("the customer's public address that forwards to EMAIL", valueName: "ADDRESS"))
        var publicAddress: String
        @Option(help: ArgumentHelp("seconds to wait for the message to come back (1-3600)", valueName: "S"))
        var timeout: Int = 300
        @OptionGroup var options: StoreOptions

        func validate() throws {
            guard (1...3600).contains(timeout) else { throw ValidationError("--timeout must be 1 to 3600 seconds, not \(timeout)") }
        }

        struct Outcome: Encodable {
            var address: String
            var `public`: String
            var state: String
            var token: String
            var messageId: String
            var outboundId: Int64
            var sent: Date
            /// The outbound recipient's state and the next hop's last reply.
            var delivery: String
            var arrived: Date?
            var seconds: Int?
            var envelopeSender: String?
            var receivedFields: Int?
            /// The DKIM result Postgate recorded when the message came back.
            var dkim: String?
            var error: String?

            enum CodingKeys: String, CodingKey {
                case address, `public`, state, token, messageId, outboundId, sent, delivery, arrived, seconds, envelopeSender, receivedFields, dkim, error
            }

            /// Every key, `null` where there is nothing, so scripts see a stable set.
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(address, forKey: .address)
                try c.encode(self.public, forKey: .public)
                try c.encode(state, forKey: .state)
                try c.encode(token, forKey: .token)
                try c.encode(messageId, forKey: .messageId)
                try c.encode(outboundId, forKey: .outboundId)
                try c.encode(sent, forKey: .sent)
                try c.encode(delivery, forKey: .delivery)
                try c.encode(arrived, forKey: .arrived)
                try c.encode(seconds, forKey: .seconds)
                try c.encode(envelopeSender, forKey: .envelopeSender)
                try c.encode(receivedFields, forKey: .receivedFields)
                try c.encode(dkim, forKey: .dkim)
                try c.encode(error, forKey: .error)
            }
        }

        func run() throws {
            let address = parseAddress(email)
            let target = parseAddress(publicAddress)
            let store = try options.openStore()
            guard let record = try reportingFailure({ () throws(StoreError) in try store.address(address, countingMessages: false) }) else {
                fail("\(address) is not a hosted address (postgate address list shows them)")
            }
            guard record.enabled else { fail("\(record.email) is disabled: enable it first (postgate address enable \(record.email))") }
            if try reportingFailure({ () throws(StoreError) in try store.address(target, countingMessages: false) }) != nil {
                fail("\(target) is hosted by this gateway: --public is the customer's own address at their provider, the one that forwards to \(record.email)")
            }
            let submission = ReplySubmission(store: store, queue: try options.openOutboundQueue(), configuration: options.gatewayConfiguration())
            let check: ForwardingCheckMessage
            do {
                check = try submission.submitForwardingCheck(from: address, to: target)
            } catch {
                fail("the check message could not be queued: \(error)")
            }
            let outcome = try wait(for: check, record: record, store: store, queue: submission.queue, to: target)
            try options.print(outcome) { Self.describe(outcome) }
            if outcome.state != "arrived" { throw ExitCode.failure }
        }

        /// Polls the index until the message came back, its delivery failed, or the time is up.
        private func wait(for check: ForwardingCheckMessage, record: AddressRecord, store: MailStore, queue: OutboundQueue,
                          to target: EmailAddress) throws -> Outcome {
            var outcome = Outcome(address: record.email, public: target.description, state: "timeout", token: check.token,
                                  messageId: check.messageID, outboundId: check.outbound.id, sent: check.outbound.createdAt, delivery: "queued")
            var progress = ProgressBar(label: "waiting for the check to come back to \(record.email)")
            defer { progress.finish() }
            let deadline = Date().addingTimeInterval(TimeInterval(timeout))
            let owner = try EmailAddress(record.email)
            while true {
                let recipient = try reportingFailure({ () throws(OutboundQueueError) in try queue.message(check.outbound.id) }).recipients.first
                if let recipient {
                    outcome.delivery = recipient.state.rawValue + (recipient.lastReply.map { ": " + $0 } ?? "")
                }
                if let back = try arrived(check, owner: owner, store: store) {
                    outcome.state = "arrived"
                    outcome.arrived = back.message.internalDate
                    outcome.seconds = max(0, Int(back.message.internalDate.timeIntervalSince(check.outbound.createdAt).rounded()))
                    outcome.envelopeSender = back.message.mailFrom
                    outcome.receivedFields = back.header.values("Received").count
                    outcome.dkim = Self.dkimResult(back.header)
                    return outcome
                }
                if recipient?.state == .failed {
                    outcome.state = "failed"
                    outcome.error = "the check could not be sent to \(target): \(recipient?.lastReply ?? "refused")"
                    return outcome
                }
                let now = Date()
                guard now < deadline else { break }
                progress.update(Int(TimeInterval(timeout) - deadline.timeIntervalSince(now)), of: timeout)
                Thread.sleep(forTimeInterval: min(0.5, deadline.timeIntervalSince(now)))
            }
            switch outcome.delivery.prefix(while: { $0 != ":" }) {
            case "delivered":
                outcome.error = "the check was accepted for \(target) (\(outcome.delivery)) but did not come back to \(record.email) within \(timeout) s: check that \(target) forwards to \(record.email), and whether its provider asked to confirm the forwarding (postgate address confirmations)"
            default:
                outcome.error = "the check to \(target) is still \(outcome.delivery) after \(timeout) s: is `postgate serve` running, and can it reach the next hop? (postgate outbound show \(check.outbound.id))"
            }
            return outcome
        }

        /// The check's message in the address's mailbox, with its header, once it came back.
        private func arrived(_ check: ForwardingCheckMessage, owner: EmailAddress, store: MailStore) throws
            -> (message: StoredMessage, header: MessageHeader)? {
            let messages = try reportingFailure { () throws(StoreError) in
                try store.labelled(PolicyVerdict.forwardingCheckLabel, address: owner, limit: 100)
            }
            let token = check.token.lowercased()
            guard let message = messages.first(where: {
                ($0.messageID ?? "").lowercased().contains(token) || ($0.subject ?? "").lowercased().contains(token)
            }) else { return nil }
            let file = try reportingFailure { () throws(StoreError) in try store.messageFile(message) }
            let bytes = file.flatMap { FileManager.default.contents(atPath: $0) }.map { [UInt8]($0) } ?? []
            return (message, MessageHeader.parse(bytes))
        }

        /// `dkim=…` of the topmost Authentication-Results field (the one Postgate added).
        static func dkimResult(_ header: MessageHeader) -> String? {
            guard let field = header.values("Authentication-Results").first,
                  let range = field.range(of: "dkim=") else { return nil }
            return String(field[range.upperBound...].prefix { $0.isLetter })
        }

        static func describe(_ outcome: Outcome) -> String {
            guard outcome.state == "arrived" else { return "forwarding check \(outcome.state): \(outcome.error ?? "")" }
            var lines = ["forwarding works: the check sent to \(outcome.public) came back to \(outcome.address) after \(outcome.seconds ?? 0) s"]
            lines.append("  sent:      outbound message \(outcome.outboundId), \(outcome.delivery)")
            lines.append("  came back: envelope sender <\(outcome.envelopeSender ?? "")>, \(outcome.receivedFields ?? 0) Received fields, DKIM \(outcome.dkim ?? "not recorded")")
            lines.append("  token:     \(outcome.token)")
            return lines.joined(separator: "\n")
        }
    }
}
