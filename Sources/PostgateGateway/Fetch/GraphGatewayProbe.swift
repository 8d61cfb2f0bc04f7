import Foundation
import PostgateConnectors
import PostgateDirectory

/// The Graph steps of `postgate connector test`: the mailbox answers, the mapped folders
/// exist, and, for sending, the access token carries the `Mail.Send` permission. Nothing is
/// fetched or changed.
struct GraphGatewayProbe {
    let mailbox: GraphMailbox

    /// Receiving: the mailbox, then the folders (each mapped one found, or all of them).
    func receivingSteps(_ settings: ReceivingGatewaySettings) async -> [GatewayProbeStep] {
        var steps: [GatewayProbeStep] = []
        guard await Self.step("reach mailbox", into: &steps, { try await reachMailbox() }) else { return steps }
        _ = await Self.step("list folders", into: &steps) {
            var names: [String] = []
            if settings.syncAllFolders { names = try await mailbox.allFolders().map(\.path) }
            for name in settings.folders { names.append(try await mailbox.folder(named: name).path) }
            if settings.afterFetch == .move, let target = settings.moveToFolder {
                names.append("move to " + (try await mailbox.folder(named: target).path))
            }
            return names.joined(separator: ", ")
        }
        return steps
    }

    /// Receiving from a Microsoft 365 group: the group, then its threads (the first page).
    static func groupSteps(_ group: GraphGroup) async -> [GatewayProbeStep] {
        var steps: [GatewayProbeStep] = []
        var reached: GraphGroup.Identity?
        guard await Self.step("reach group", into: &steps, {
            let found = try await group.identity()
            reached = found
            return "\(found.displayName) <\(found.mail ?? "no mail address")> (\(found.id)) at \(group.client.baseURL)"
        }), let identity = reached else { return steps }
        _ = await Self.step("list threads", into: &steps) {
            let threads = try await group.firstThreads(groupID: identity.id)
            return threads.isEmpty ? "no conversation threads yet"
                : "\(threads.count) thread\(threads.count == 1 ? "" : "s") on the first page, the first: \(GraphPostMessage.clean(threads[0].topic))"
        }
        return steps
    }

    /// Sending: the token's permission, then the mailbox.
    func sendingSteps(token: String) async -> [GatewayProbeStep] {
        var steps: [GatewayProbeStep] = []
        guard await Self.step("check send permission", into: &steps, { try Self.sendPermission(in: token) }) else { return steps }
        _ = await Self.step("reach mailbox", into: &steps, { try await reachMailbox() })
        return steps
    }

    private func reachMailbox() async throws -> String {
        _ = try await mailbox.call(.GET, "\(mailbox.userPath)/mailFolders/inbox?$select=id")
        return "\(mailbox.user) at \(mailbox.client.baseURL)"
    }

    /// The permission to send in an access token that is a JWT (RFC 7519): `Mail.Send` among
    /// the application permissions (`roles`) or the delegated scopes (`scp`). A token that
    /// is not a readable JWT is not judged here; Graph answers 403 at the first send.
    static func sendPermission(in token: String) throws -> String {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = base64URLDecoded(String(parts[1])),
              let claims = (try? JSONSerialization.jsonObject(with: payload)) as? [String: Any] else {
            return "the access token is not a readable JWT; Graph checks the permission at the first send"
        }
        let roles = claims["roles"] as? [String] ?? []
        let scopes = (claims["scp"] as? String)?.split(separator: " ").map(String.init) ?? []
        guard roles.contains("Mail.Send") || scopes.contains("Mail.Send") else {
            let held = (roles + scopes).joined(separator: ", ")
            throw FetchError("the access token lacks Mail.Send (it holds \(held.isEmpty ? "no mail permission" : held)); grant the application Mail.Send with admin consent")
        }
        return roles.contains("Mail.Send") ? "application permission Mail.Send" : "delegated permission Mail.Send"
    }

    static func base64URLDecoded(_ text: String) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64)
    }

    /// Runs one step and records it; false when it failed.
    private static func step(_ name: String, into steps: inout [GatewayProbeStep], _ body: () async throws -> String) async -> Bool {
        let started = Date()
        let milliseconds = { Int((Date().timeIntervalSince(started) * 1000).rounded()) }
        do {
            steps.append(GatewayProbeStep(step: name, ok: true, detail: try await body(), milliseconds: milliseconds()))
            return true
        } catch {
            steps.append(GatewayProbeStep(step: name, ok: false, detail: ReceivingGatewayFetcher.oneLine(error), milliseconds: milliseconds()))
            return false
        }
    }
}
