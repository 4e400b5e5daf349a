import CommandLineKit
import Foundation
import MindAlphaPool
import MindAlphaWire
import NIOCore

/// The request body `bench` sends, from its payload options, and how to check an answer to it.
enum Payload {
    private typealias O = BenchCommand.Options

    typealias Validator = @Sendable (ByteBuffer) -> String?

    /// The largest body a request frame can carry: meta (8 bytes) and body together are at most 64 MiB, the
    /// protocol's frame limit and `serve`'s default `--max-frame-size`.
    static let maxBody = FrameParser.defaultMaxFrameSize - FrameHeader.metaSize

    /// The body the options ask for (the spec's rules have made sure at most one of them is given).
    static func make(_ args: ParsedArguments, command: String) throws -> (ByteBuffer, Validator?) {
        let given = [O.payloadFile, O.payloadHex, O.model].filter { args.isSet($0) }.map(\.name)
        let (body, validate) = try make(args, given: given.first, command: command)
        try checkSize(body.readableBytes, of: given.first.map { "--\($0)" } ?? "--payload-size", command: command)
        return (body, validate)
    }

    private static func checkSize(_ size: Int, of option: String, command: String) throws {
        guard size > maxBody else { return }
        throw UsageError(
            "\(option): a \(grouped(size))-byte body is over the frame limit: a request carries at most \(grouped(maxBody)) bytes "
                + "(64 MiB with its 8 meta bytes); servers close the connection on a larger frame",
            command: command)
    }

    private static func grouped(_ n: Int) -> String { BenchText.grouped(n) }

    private static func make(_ args: ParsedArguments, given: String?, command: String) throws -> (ByteBuffer, Validator?) {
        if given == "model" { return try prediction(args, command: command) }
        if let path = args[O.payloadFile] {
            if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int {
                try checkSize(size, of: "--payload-file", command: command)
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw UsageError("--payload-file: cannot read '\(path)'", command: command)
            }
            return (ByteBuffer(bytes: data), nil)
        }
        if let hex = args[O.payloadHex] {
            guard let bytes = parseHexBytes(hex) else {
                throw UsageError("--payload-hex: '\(hex)' is not hex bytes (e.g. 0a1b2c or '0a 1b 2c')", command: command)
            }
            return (ByteBuffer(bytes: bytes), nil)
        }
        let size = args[O.payloadSize]
        try checkSize(size, of: "--payload-size", command: command)
        // Random bytes, not crypto: a seeded SplitMix64 stream written in place (16 MiB in milliseconds).
        var generator = SplitMix64(seed: UInt64.random(in: 0 ... .max))
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            var word: UInt64 = 0
            for i in 0..<size {
                if i % 8 == 0 { word = generator.next() }
                raw[i] = UInt8(truncatingIfNeeded: word >> ((i % 8) * 8))
            }
            return size
        }
        return (buffer, nil)
    }

    /// A prediction request for `--model`, built from the first `--rows` lines of `--features` with the Go
    /// client's rules; an answer must be a `Response` with scores.
    static func prediction(_ args: ParsedArguments, command: String) throws -> (ByteBuffer, Validator?) {
        let model = args[O.model]!
        guard let featuresPath = args[O.features], let columnsPath = args[O.columns] else {
            throw UsageError("--model needs --features FILE and --columns FILE", command: command)
        }
        guard let columnsText = try? String(contentsOfFile: columnsPath, encoding: .utf8) else {
            throw UsageError("--columns: cannot read '\(columnsPath)'", command: command)
        }
        let names = columnsText.split(whereSeparator: { $0 == "\n" || $0 == "\u{2}" || $0 == "\r\n" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !names.isEmpty else { throw UsageError("--columns: '\(columnsPath)' names no column", command: command) }
        guard let featuresText = try? String(contentsOfFile: featuresPath, encoding: .utf8) else {
            throw UsageError("--features: cannot read '\(featuresPath)'", command: command)
        }
        let lines = featuresText.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).filter { !$0.isEmpty }
        let rows = args[O.rows]
        guard lines.count >= rows else {
            throw UsageError("--rows \(rows) but '\(featuresPath)' has \(lines.count) feature row(s)", command: command)
        }
        var builder = IndexBatchBuilder()
        for (n, line) in lines.prefix(rows).enumerated() {
            do {
                try builder.addCSVRow(line, columns: names)
            } catch {
                throw UsageError("--features line \(n + 1): \(error)", command: command)
            }
        }
        let request = Request(algoName: model, indexBatches: [builder.build()])
        let validate: Validator = { body in
            guard let response = try? Response(flatBuffer: body) else { return "the answer is not a FlatBuffers Response" }
            guard !response.scores.isEmpty else {
                return "no scores" + (response.debugInfo.map { " (debug_info: \($0))" } ?? "")
            }
            return nil
        }
        return (ByteBuffer(bytes: request.flatBuffer()), validate)
    }
}
