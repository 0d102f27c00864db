#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads an NDJSON file (or standard input) as batches of non-blank lines, remembering each
/// line's number so rejects can be reported where they are in the file.
final class LineBatchReader {
    struct Batch {
        var lines: [[UInt8]] = []
        var lineNumbers: [Int] = []
        var body: [UInt8] { lines.flatMap { $0 + [0x0A] } }

        /// The records at `indices` (positions in this batch), keeping their line numbers: what
        /// a retry of only some records sends.
        func subset(_ indices: [Int]) -> Batch {
            Batch(lines: indices.map { lines[$0] }, lineNumbers: indices.map { lineNumbers[$0] })
        }
    }

    private let file: UnsafeMutablePointer<FILE>
    private let closesFile: Bool
    private var buffer: [UInt8] = []
    private var bufferStart = 0
    private var atEnd = false
    private var lineNumber = 0
    /// Bytes consumed so far, for progress against the file size.
    private(set) var bytesRead = 0
    /// Size of a regular input file; nil for standard input or pipes.
    let totalBytes: Int?

    init(path: String) throws {
        if path == "-" {
            file = stdin
            closesFile = false
            totalBytes = nil
        } else {
            guard let opened = fopen(path, "rb") else { throw CommandError("cannot open '\(path)': \(String(cString: strerror(errno)))") }
            file = opened
            closesFile = true
            var info = stat()
            totalBytes = fstat(fileno(opened), &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
        }
    }

    deinit { if closesFile { fclose(file) } }

    /// The next batch of up to `size` non-blank lines; empty at the end of the input.
    func next(size: Int) -> Batch {
        var batch = Batch()
        while batch.lines.count < size, let line = nextLine() {
            lineNumber += 1
            if line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
                batch.lines.append(line)
                batch.lineNumbers.append(lineNumber)
            }
        }
        return batch
    }

    private func nextLine() -> [UInt8]? {
        while true {
            if let newline = buffer[bufferStart...].firstIndex(of: 0x0A) {
                let line = Array(buffer[bufferStart..<newline])
                bytesRead += newline + 1 - bufferStart
                bufferStart = newline + 1
                return line
            }
            if atEnd {
                guard bufferStart < buffer.count else { return nil }
                let line = Array(buffer[bufferStart...])
                bytesRead += line.count
                bufferStart = buffer.count
                return line
            }
            buffer.removeFirst(bufferStart)
            bufferStart = 0
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { buffer.append(contentsOf: chunk[0..<count]) }
            if count < chunk.count { atEnd = true }
        }
    }
}
