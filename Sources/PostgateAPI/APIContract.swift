import Foundation
import HTTPTypes
import OpenAPIRuntime
import Yams

/// The bounds the OpenAPI document sets on requests (lengths, patterns, counts, ranges,
/// closed objects), checked before an operation runs, so that the document is the one
/// statement of them. The generated code checks types and required properties; this checks
/// the rest of what the document's JSON Schema says of parameters and JSON bodies.
struct APIContract: Sendable {
    /// One operation's parameters and body schema.
    struct Operation: Sendable {
        var parameters: [Parameter] = []
        var body: Schema?
    }

    struct Parameter: Sendable {
        enum Location: String, Sendable { case path, query, header }
        var name: String
        var location: Location
        var schema: Schema
    }

    /// The subset of JSON Schema the document uses.
    indirect enum Schema: Sendable {
        /// `pattern` as the document writes it (an ECMA-262 regular expression, JSON Schema §6.3.3).
        case string(minLength: Int?, maxLength: Int?, pattern: String?)
        case integer(minimum: Int?, maximum: Int?)
        case number
        case boolean
        case array(items: Schema?, minItems: Int?, maxItems: Int?)
        case object(properties: [String: Schema], closed: Bool)
        case nullable(Schema)
        case any
    }

    private(set) var operations: [String: Operation] = [:]

    init(document: Data) throws {
        guard let root = try Yams.load(yaml: String(decoding: document, as: UTF8.self)) as? [String: Any] else {
            throw APIDocumentMissing()
        }
        let components = (root["components"] as? [String: Any]) ?? [:]
        func resolve(_ node: Any?) -> [String: Any] {
            guard let node = node as? [String: Any] else { return [:] }
            guard let ref = node["$ref"] as? String, ref.hasPrefix("#/components/") else { return node }
            let parts = ref.dropFirst("#/components/".count).split(separator: "/").map(String.init)
            guard parts.count == 2, let section = components[parts[0]] as? [String: Any] else { return [:] }
            return resolve(section[parts[1]])
        }
        func schema(_ node: Any?, depth: Int = 0) -> Schema {
            let node = resolve(node)
            guard depth < 16 else { return .any }
            var types: [String] = []
            if let type = node["type"] as? String { types = [type] } else if let list = node["type"] as? [String] { types = list }
            if types.isEmpty, node["$ref"] == nil, node["enum"] != nil { types = ["string"] }
            let nullable = types.contains("null")
            let base: Schema
            switch types.first(where: { $0 != "null" }) {
            case "string"?:
                base = .string(minLength: node["minLength"] as? Int, maxLength: node["maxLength"] as? Int, pattern: node["pattern"] as? String)
            case "integer"?: base = .integer(minimum: node["minimum"] as? Int, maximum: node["maximum"] as? Int)
            case "number"?: base = .number
            case "boolean"?: base = .boolean
            case "array"?:
                base = .array(items: node["items"].map { schema($0, depth: depth + 1) }, minItems: node["minItems"] as? Int,
                              maxItems: node["maxItems"] as? Int)
            case "object"?:
                let properties = ((node["properties"] as? [String: Any]) ?? [:]).mapValues { schema($0, depth: depth + 1) }
                base = .object(properties: properties, closed: (node["additionalProperties"] as? Bool) == false)
            default: base = .any
            }
            return nullable ? .nullable(base) : base
        }
        for case let (_, item as [String: Any]) in (root["paths"] as? [String: Any]) ?? [:] {
            let shared = (item["parameters"] as? [Any]) ?? []
            for method in ["get", "put", "post", "delete", "patch"] {
                guard let operation = item[method] as? [String: Any], let id = operation["operationId"] as? String else { continue }
                var entry = Operation()
                for parameter in shared + ((operation["parameters"] as? [Any]) ?? []) {
                    let p = resolve(parameter)
                    guard let name = p["name"] as? String, let location = (p["in"] as? String).flatMap(Parameter.Location.init) else { continue }
                    entry.parameters.append(Parameter(name: name, location: location, schema: schema(p["schema"])))
                }
                let body = resolve(operation["requestBody"])
                if let content = body["content"] as? [String: Any], let json = content["application/json"] as? [String: Any] {
                    entry.body = schema(json["schema"])
                }
                operations[id] = entry
            }
        }
    }

    /// The first way `request` breaks the document's bounds, or nil.
    func violation(operationID: String, request: HTTPRequest, pathParameters: [String: Substring], body: Data?) -> String? {
        guard let operation = operations[operationID] else { return nil }
        let query = Self.queryItems(request.path ?? "")
        for parameter in operation.parameters {
            let value: String?
            switch parameter.location {
            case .path: value = pathParameters[parameter.name].map { String($0).removingPercentEncoding ?? String($0) }
            case .query: value = query[parameter.name]
            case .header: value = HTTPField.Name(parameter.name).flatMap { request.headerFields[$0] }
            }
            guard let value else { continue }
            if case .integer(let minimum, let maximum) = parameter.schema {
                guard let number = Int(value) else { return "\(parameter.name) must be an integer" }
                if let minimum, number < minimum { return "\(parameter.name) is less than \(minimum)" }
                if let maximum, number > maximum { return "\(parameter.name) is more than \(maximum)" }
            } else if case .number = parameter.schema {
                guard Double(value) != nil else { return "\(parameter.name) must be a number" }
            } else if case .boolean = parameter.schema {
                guard value == "true" || value == "false" else { return "\(parameter.name) must be true or false" }
            } else if let problem = Self.check(value, parameter.schema, at: parameter.name) {
                return problem
            }
        }
        if let schema = operation.body, let body, !body.isEmpty {
            guard let json = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) else {
                return "the body is not JSON"
            }
            return Self.check(json, schema, at: "body")
        }
        return nil
    }

    private static func check(_ value: Any, _ schema: Schema, at path: String) -> String? {
        switch schema {
        case .any: return nil
        case .nullable(let inner): return value is NSNull ? nil : check(value, inner, at: path)
        case .string(let minLength, let maxLength, let pattern):
            guard let text = value as? String else { return "\(path) must be a string" }
            let length = text.unicodeScalars.count
            if let minLength, length < minLength { return "\(path) is shorter than \(minLength) characters" }
            if let maxLength, length > maxLength { return "\(path) is longer than \(maxLength) characters" }
            if let pattern, !matches(text, pattern) { return "\(path) does not match \(pattern)" }
        case .integer(let minimum, let maximum):
            guard let number = value as? NSNumber, !isBoolean(number), number.doubleValue.rounded() == number.doubleValue,
                  abs(number.doubleValue) < 9.0e15 else { return "\(path) must be an integer" }
            if let minimum, number.intValue < minimum { return "\(path) is less than \(minimum)" }
            if let maximum, number.intValue > maximum { return "\(path) is more than \(maximum)" }
        case .number:
            guard let number = value as? NSNumber, !isBoolean(number) else { return "\(path) must be a number" }
        case .boolean:
            guard let number = value as? NSNumber, isBoolean(number) else { return "\(path) must be true or false" }
        case .array(let items, let minItems, let maxItems):
            guard let list = value as? [Any] else { return "\(path) must be an array" }
            if let minItems, list.count < minItems { return "\(path) has fewer than \(minItems) items" }
            if let maxItems, list.count > maxItems { return "\(path) has more than \(maxItems) items" }
            if let items {
                for (index, item) in list.enumerated() {
                    if let problem = check(item, items, at: "\(path)[\(index)]") { return problem }
                }
            }
        case .object(let properties, let closed):
            guard let object = value as? [String: Any] else { return "\(path) must be an object" }
            for key in object.keys.sorted() {
                guard let property = properties[key] else {
                    if closed { return "\(path).\(key) is not a property this request takes" }
                    continue
                }
                if let problem = check(object[key]!, property, at: "\(path).\(key)") { return problem }
            }
        }
        return nil
    }

    /// Whether `pattern` matches somewhere in `text` (JSON Schema patterns are not anchored).
    /// ECMA-262's `$` without the multiline flag matches only at the end, where ICU's also
    /// matches before a final line break: a closing `$` is read as `\z`.
    private static func matches(_ text: String, _ pattern: String) -> Bool {
        var icu = pattern
        if icu.hasSuffix("$"), !icu.hasSuffix("\\$") { icu = String(icu.dropLast()) + "\\z" }
        return text.range(of: icu, options: .regularExpression) != nil
    }

    /// JSON's true and false, which Foundation reads as numbers of the C type `char`.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    private static func queryItems(_ path: String) -> [String: String] {
        guard let mark = path.firstIndex(of: "?") else { return [:] }
        var items: [String: String] = [:]
        for pair in path[path.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (s: Substring) in s.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(s) }
            if let name = parts.first { items[decode(name)] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return items
    }
}

/// Refuses (400) a request that breaks the document's bounds, before the operation runs.
struct APIContractMiddleware: ServerMiddleware {
    let contract: APIContract
    let maxBodyBytes: Int

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var data: Data?
        if let body { data = try await Data(collecting: body, upTo: maxBodyBytes) }
        if let violation = contract.violation(operationID: operationID, request: request, pathParameters: metadata.pathParameters, body: data) {
            throw APIProblem.badRequest("the request breaks the API's contract: \(violation)")
        }
        return try await next(request, data.map { HTTPBody($0) }, metadata)
    }
}
