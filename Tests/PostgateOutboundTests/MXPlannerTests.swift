import Testing
@testable import PostgateOutbound
import PostgateStore

/// RFC 5321 section 5.1 ordering, implicit MX and null MX, over a resolver that answers
/// from a table (the real resolver is PostgateDNS, through `DNSOutboundResolver`).
@Suite struct MXPlannerTests {
    struct TableResolver: OutboundResolver {
        var mxTable: [String: [(preference: Int, host: String)]]
        var addressTable: [String: [String]]

        func mx(_ domain: String) async throws -> [(preference: Int, host: String)] {
            guard let records = mxTable[domain] else { throw OutboundResolverError.noSuchDomain(domain) }
            return records
        }

        func addresses(_ host: String) async throws -> [String] {
            guard let list = addressTable[host] else { throw OutboundResolverError.noSuchDomain(host) }
            return list
        }
    }

    @Test func byPreferenceThenAddresses() async throws {
        let resolver = TableResolver(
            mxTable: ["x.test": [(20, "b.x.test."), (10, "a.x.test.")], "bare.test": [], "null.test": [(0, ".")]],
            addressTable: ["a.x.test": ["192.0.2.1", "2001:db8::1"], "b.x.test": ["192.0.2.2"], "bare.test": ["192.0.2.3"]]
        )
        let planner = MXPlanner(resolver: resolver, port: 2525)
        let endpoints = try await planner.endpoints(for: "x.test").get()
        #expect(endpoints.map(\.description) == ["a.x.test[192.0.2.1]:2525", "a.x.test[2001:db8::1]:2525", "b.x.test[192.0.2.2]:2525"])
        #expect(try await planner.endpoints(for: "bare.test").get().map(\.host) == ["bare.test"])
        guard case .failure(let null) = await planner.endpoints(for: "null.test"), case .permanent = null.outcome else { Issue.record("null MX"); return }
        guard case .failure(let nx) = await planner.endpoints(for: "gone.test"), case .permanent = nx.outcome else { Issue.record("NXDOMAIN"); return }
    }

    @Test func smarthostGroupsEverythingAndMXGroupsByDomain() {
        let smarthost = NextHop.smarthost(SMTPEndpoint(host: "relay.test"))
        #expect(smarthost.groupKey("a@x.test") == smarthost.groupKey("b@y.test"))
        let mx = NextHop.mx(resolver: TableResolver(mxTable: [:], addressTable: [:]), port: 25, tls: .opportunistic)
        #expect(mx.groupKey("a@X.test") == "x.test")
        #expect(mx.groupKey("a@x.test") != mx.groupKey("b@y.test"))
    }
}
