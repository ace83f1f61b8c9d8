// The .npy file format (NumPy's NEP 1, "A simple file format for NumPy arrays"), as far as VecVM reads
// and writes it: the 6-byte magic `\x93NUMPY`, a version (1.0, 2.0 or 3.0), the length of a header that
// is a Python dict literal (`{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }`), spaces and a
// newline up to a multiple of 64 bytes, then the raw elements. VecVM reads 1-D little-endian arrays of
// `<f4`, `<f8` and `<i8` and writes the same, byte for byte as `numpy.save` writes them.

enum NumpyFormat {
    /// What the header says.
    struct Header {
        /// The dtype as written (`'<f4'`, or the text of a structured dtype).
        var descr: String
        var fortranOrder: Bool
        var shape: [Int]
        /// Bytes before the first element.
        var dataOffset: Int

        /// `(1000,)`, `(3, 4)`, `()`: the shape as NumPy prints it.
        var shapeText: String {
            shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
    }

    struct FormatError: Error {
        let reason: String
    }

    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The dtype string of an element kind (little-endian, as on x86-64).
    static func descr(_ kind: ElementKind) -> String {
        switch kind {
        case .f32: "<f4"
        case .float: "<f8"
        case .int: "<i8"
        case .bool: "|b1"
        }
    }

    /// Bytes needed to know the header's length: magic, version, length field (4 bytes in 2.0 and 3.0).
    static let preambleLength = 12

    /// The header's total length (data offset) from the first `preambleLength` bytes (fewer if the file
    /// is shorter), or an error saying why this is not a .npy file.
    static func dataOffset(preamble p: [UInt8]) throws(FormatError) -> Int {
        guard p.count >= 10, Array(p[0..<6]) == magic else {
            throw FormatError(reason: "it is not a .npy file (it does not start with \\x93NUMPY)")
        }
        switch p[6] {
        case 1:
            return 10 + (Int(p[8]) | Int(p[9]) << 8)
        case 2, 3:
            guard p.count >= 12 else { throw FormatError(reason: "its header is cut short") }
            return 12 + (Int(p[8]) | Int(p[9]) << 8 | Int(p[10]) << 16 | Int(p[11]) << 24)
        default:
            throw FormatError(reason: "it is a .npy file of version \(p[6]).\(p[7]), which VecVM does not read")
        }
    }

    /// Parses the whole header (`bytes` holds at least `dataOffset` bytes).
    static func parseHeader(_ bytes: [UInt8], dataOffset: Int) throws(FormatError) -> Header {
        let start = bytes[6] == 1 ? 10 : 12
        guard dataOffset <= bytes.count, start <= dataOffset else {
            throw FormatError(reason: "its header is cut short")
        }
        var parser = DictParser(text: Array(bytes[start..<dataOffset]))
        let dict: [String: DictParser.Value]
        do {
            dict = try parser.parseDict()
        } catch {
            throw FormatError(reason: "its header is not a valid .npy header (\(error.reason))")
        }
        guard let d = dict["descr"] else { throw FormatError(reason: "its header has no 'descr'") }
        // A structured dtype is a list: keep its text for the error message.
        return try headerWith(descr: d.text, dict, dataOffset)
    }

    private static func headerWith(descr: String, _ dict: [String: DictParser.Value], _ offset: Int)
        throws(FormatError) -> Header
    {
        guard case .bool(let fortran)? = dict["fortran_order"] else {
            throw FormatError(reason: "its header has no 'fortran_order'")
        }
        guard case .tuple(let dims)? = dict["shape"] else { throw FormatError(reason: "its header has no 'shape'") }
        var shape: [Int] = []
        for d in dims {
            guard case .int(let n) = d, n >= 0 else { throw FormatError(reason: "its shape is not a tuple of sizes") }
            shape.append(n)
        }
        return Header(descr: descr, fortranOrder: fortran, shape: shape, dataOffset: offset)
    }

    /// The header `numpy.save` writes for a 1-D array of `count` elements of `kind`, version 1.0,
    /// padded (with NumPy's room for the shape to grow) to a multiple of 64 bytes.
    static func header(kind: ElementKind, count: Int) -> [UInt8] {
        var dict = "{'descr': '\(descr(kind))', 'fortran_order': False, 'shape': (\(count),), }"
        // numpy's GROWTH_AXIS_MAX_DIGITS: spare room so that the array can grow in place.
        dict += String(repeating: " ", count: max(0, 21 - String(count).count))
        let textLength = dict.utf8.count + 1  // with the final newline
        let padding = 64 - ((magic.count + 2 + 2 + textLength) % 64)
        let total = textLength + padding
        var out = magic + [1, 0, UInt8(total & 0xFF), UInt8(total >> 8)]
        out += Array(dict.utf8)
        out += [UInt8](repeating: UInt8(ascii: " "), count: padding)
        out.append(UInt8(ascii: "\n"))
        return out
    }
}

/// Parses the Python literal of a .npy header: a dict of string keys whose values are strings, booleans,
/// integers, tuples or lists (structured dtypes), with either kind of quotes.
private struct DictParser {
    enum Value {
        case string(String)
        case bool(Bool)
        case int(Int)
        case tuple([Value])
        case other(String)

        var text: String {
            switch self {
            case .string(let s): s
            case .bool(let b): b ? "True" : "False"
            case .int(let n): String(n)
            case .tuple(let items): "(" + items.map(\.text).joined(separator: ", ") + ")"
            case .other(let s): s
            }
        }
    }

    struct Failure: Error {
        let reason: String
    }

    let text: [UInt8]
    var pos = 0
    /// Open tuples and lists: bounded, so that a hostile header cannot exhaust the task's stack.
    var depth = 0

    init(text: [UInt8]) { self.text = text }

    private mutating func skipBlanks() {
        while pos < text.count, [0x20, 0x09, 0x0A, 0x0D].contains(text[pos]) { pos += 1 }
    }

    private mutating func expect(_ c: Character) throws(Failure) {
        skipBlanks()
        guard pos < text.count, text[pos] == c.asciiValue! else {
            throw Failure(reason: "expected '\(c)' at byte \(pos)")
        }
        pos += 1
    }

    private mutating func accept(_ c: Character) -> Bool {
        skipBlanks()
        if pos < text.count, text[pos] == c.asciiValue! {
            pos += 1
            return true
        }
        return false
    }

    mutating func parseDict() throws(Failure) -> [String: Value] {
        try expect("{")
        var out: [String: Value] = [:]
        while !accept("}") {
            guard case .string(let key) = try parseValue() else { throw Failure(reason: "a key is not a string") }
            try expect(":")
            out[key] = try parseValue()
            if !accept(",") {
                try expect("}")
                break
            }
        }
        return out
    }

    private mutating func parseValue() throws(Failure) -> Value {
        skipBlanks()
        guard pos < text.count else { throw Failure(reason: "the header ends early") }
        let c = text[pos]
        if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
            pos += 1
            let begin = pos
            while pos < text.count && text[pos] != c { pos += 1 }
            guard pos < text.count else { throw Failure(reason: "an unterminated string") }
            pos += 1
            return .string(String(decoding: text[begin..<(pos - 1)], as: UTF8.self))
        }
        if c == UInt8(ascii: "(") || c == UInt8(ascii: "[") {
            let close: Character = c == UInt8(ascii: "(") ? ")" : "]"
            guard depth < 16 else { throw Failure(reason: "it nests too deeply") }
            depth += 1
            defer { depth -= 1 }
            let begin = pos
            pos += 1
            var items: [Value] = []
            while !accept(close) {
                items.append(try parseValue())
                if !accept(",") {
                    try expect(close)
                    break
                }
            }
            if close == "]" { return .other(String(decoding: text[begin..<pos], as: UTF8.self)) }
            return .tuple(items)
        }
        let begin = pos
        while pos < text.count, !",:)]} \t\n".utf8.contains(text[pos]) { pos += 1 }
        let word = String(decoding: text[begin..<pos], as: UTF8.self)
        switch word {
        case "True": return .bool(true)
        case "False": return .bool(false)
        default:
            // NumPy 1.x wrote sizes of long type as `3L` in Python 2 days.
            let digits = word.hasSuffix("L") ? String(word.dropLast()) : word
            if let n = Int(digits) { return .int(n) }
            throw Failure(reason: "unexpected '\(word)'")
        }
    }
}
