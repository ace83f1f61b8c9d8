// The input and output built-ins (docs/language.md, "Input and output"): the program's arguments,
// standard input line by line, whole text files, 1-D .npy arrays, numbers parsed from text, and the
// REPL's display of a value. They run through one opcode, `io`, whose K is an IOOp (Opcode.swift).
//
// Rules this file keeps:
// - Every failure is a runtime error (a Trap) that names the path and gives the system's reason
//   (strerror), never a crash and never a silent partial result.
// - Nothing is half-written: a file is written to a temporary file in the same directory, which is
//   renamed over the target only once every byte was written and the file closed without error.
// - A loaded array is an ordinary VMArray (64-byte aligned, charged to the memory limit), read
//   straight from the file into its buffer: kernels use it with no copy or conversion.
// - File access happens only when the VM allows it (VMConfiguration.allowFileAccess; the checker
//   already refuses such calls otherwise, this is the second line).
// - Waiting for standard input sleeps as a task (Scheduler.sleep), so the processor runs other tasks
//   and a cancelled run ends the wait; reading files blocks the thread, as any system call does
//   (Scheduler.swift, "Limits").

import Synchronization
import VMRuntime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a run's tasks may use of the world outside the VM (from VMConfiguration).
struct IOEnvironment: Sendable {
    /// `arg(i)`, `argc()`: the arguments after the program's path.
    var arguments: [String] = []
    /// `read_line()`, `eof()`.
    var input: any InputSource = NoInput()
    /// Whether `read_file`, `write_file`, `load_*` and `save` may touch files.
    var fileAccess = false
}

enum IOBuiltins {
    /// Runs one `io` instruction.
    static func execute(
        _ w: UInt64, _ entry: UnsafePointer<FunctionEntry>, _ regs: UnsafeMutablePointer<UInt64>,
        _ objs: UnsafeMutablePointer<AnyObject?>, _ ctx: ExecutionContext
    ) throws(Trap) {
        let ins = Instruction(word: w)
        let a = ins.a
        let b = ins.b
        let c = ins.c
        guard let op = IOOp(rawValue: UInt8(ins.k)) else { throw Trap("unknown input/output operation \(ins.k)") }
        switch op {
        case .argc:
            regs[a] = UInt64(ctx.io.arguments.count)
        case .arg:
            let i = Int64(bitPattern: regs[b])
            let n = ctx.io.arguments.count
            guard i >= 0, i < Int64(n) else {
                throw Trap(
                    "arg(\(i)) is out of range: the program was given \(n) argument\(n == 1 ? "" : "s") (argc() is \(n))"
                )
            }
            objs[a] = VMString(ctx.io.arguments[Int(i)])
        case .readLine:
            let input = ctx.io.input
            waitForInput(input, ctx)
            let line: String?
            do {
                line = try input.readLine()
            } catch {
                throw Trap("\(error)")
            }
            guard let line else { throw Trap("read_line: the input has ended (test eof() before reading)") }
            objs[a] = VMString(line)
        case .eof:
            let input = ctx.io.input
            waitForInput(input, ctx)
            do {
                regs[a] = try input.isAtEnd() ? 1 : 0
            } catch {
                throw Trap("\(error)")
            }
        case .readFile:
            try requireFileAccess(ctx, "read_file")
            objs[a] = VMString(try readText(string(objs[b]), ctx))
        case .writeFile:
            try requireFileAccess(ctx, "write_file")
            let bytes = Array(string(objs[b + 1]).utf8)
            try writeAtomically(string(objs[b])) { fd, path throws(Trap) in
                try withBytes(bytes) { raw throws(Trap) in try writeAll(fd, raw.baseAddress, raw.count, path) }
            }
        case .load:
            let kind = ElementKind(rawValue: UInt8(c)) ?? .f32
            try requireFileAccess(ctx, loadName(kind))
            objs[a] = try loadNumpy(string(objs[b]), kind, ctx)
        case .save:
            try requireFileAccess(ctx, "save")
            guard let array = objs[b + 1].map({ unsafeDowncast($0, to: VMArray.self) }) else {
                throw Trap("save: no array")
            }
            let header = NumpyFormat.header(kind: array.kind, count: array.count)
            try writeAtomically(string(objs[b])) { fd, path throws(Trap) in
                try withBytes(header) { raw throws(Trap) in try writeAll(fd, raw.baseAddress, raw.count, path) }
                try writeAll(fd, array.data, array.byteCount, path)
            }
        case .parseNumber:
            let kind = ElementKind(rawValue: UInt8(c)) ?? .int
            regs[a] = try parseNumber(string(objs[b]), as: kind)
        case .echo:
            let type = entry.pointee.function._withUnsafeGuaranteedRef { $0.types[c] }
            ctx.output.write(echoText(regs, objs, b, type) + "\n")
        }
    }

    private static func string(_ o: AnyObject?) -> String { (o as? VMString)?.value ?? "" }

    static func loadName(_ kind: ElementKind) -> String {
        switch kind {
        case .f32: "load_f32"
        case .float: "load_float"
        case .int: "load_int"
        case .bool: "load (of a [bool])"
        }
    }

    private static func requireFileAccess(_ ctx: ExecutionContext, _ name: String) throws(Trap) {
        if !ctx.io.fileAccess { throw Trap("\(name): file access is disabled in this VM") }
    }

    // MARK: - Standard input

    /// Returns once `input` can answer without blocking. Meanwhile the task sleeps, with growing
    /// pauses (0.1 ms up to 10 ms), so that its processor runs other tasks; output written so far is
    /// flushed first, so that a prompt printed before `read_line()` is visible.
    private static func waitForInput(_ input: any InputSource, _ ctx: ExecutionContext) {
        if input.isReady { return }
        ctx.output.flush()
        var pause: Int64 = 100_000
        while !input.isReady {
            Scheduler.sleep(nanoseconds: pause)
            pause = min(pause * 2, 10_000_000)
        }
    }

    // MARK: - Numbers from text

    /// `int(s)`, `float(s)`, `f32(s)`: the text, without surrounding blanks, as a number. An int is
    /// decimal (or `0x` hexadecimal) with an optional sign; a float anything Swift's `Double(_:)`
    /// reads (`1.5`, `-2e-3`, `inf`, `nan`), rounded once to the type.
    static func parseNumber(_ text: String, as kind: ElementKind) throws(Trap) -> UInt64 {
        let t = trimmed(text)
        switch kind {
        case .int:
            var body = Substring(t)
            var negative = false
            if let sign = body.first, sign == "+" || sign == "-" {
                negative = sign == "-"
                body = body.dropFirst()
            }
            var radix = 10
            if body.hasPrefix("0x") || body.hasPrefix("0X") {
                radix = 16
                body = body.dropFirst(2)
            }
            let digitsOK =
                !body.isEmpty
                && body.unicodeScalars.allSatisfy {
                    radix == 16 ? $0.properties.isASCIIHexDigit : ("0"..."9").contains($0)
                }
            guard digitsOK else { throw Trap("cannot parse \(quoted(text)) as an int") }
            guard let magnitude = UInt64(body, radix: radix),
                magnitude <= (negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max))
            else { throw Trap("\(quoted(text)) is out of the range of an int") }
            return negative ? 0 &- magnitude : magnitude
        case .float:
            guard let d = Double(t) else { throw Trap("cannot parse \(quoted(text)) as a float") }
            return d.bitPattern
        case .f32:
            guard let f = Float(t) else { throw Trap("cannot parse \(quoted(text)) as an f32") }
            return UInt64(f.bitPattern)
        case .bool:
            throw Trap("cannot parse \(quoted(text)) as a bool")  // the checker has no bool(s)
        }
    }

    private static func trimmed(_ s: String) -> String {
        let blanks: Set<Unicode.Scalar> = [" ", "\t", "\n", "\r"]
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !blanks.contains($0) }),
            let last = scalars.lastIndex(where: { !blanks.contains($0) })
        else { return "" }
        return String(scalars[first...last])
    }

    /// `"text"` with escapes, cut to 60 characters: how errors and the REPL quote a str.
    static func quoted(_ s: String, limit: Int = 60) -> String {
        var out = "\""
        var n = 0
        for ch in s.unicodeScalars {
            if n == limit {
                out += "..."
                break
            }
            n += 1
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            default:
                if ch.value < 0x20 || ch.value == 0x7F {
                    out += "\\u{" + String(ch.value, radix: 16) + "}"
                } else {
                    out.unicodeScalars.append(ch)
                }
            }
        }
        return out + "\""
    }

    /// The REPL's display of a value: as `print` writes it, except that a str is quoted (`"hi"`).
    static func echoText(
        _ regs: UnsafeMutablePointer<UInt64>, _ objs: UnsafeMutablePointer<AnyObject?>, _ r: Int, _ type: VType
    ) -> String {
        if type == .str { return quoted(string(objs[r]), limit: Int.max) }
        return ValueFormatter.value(regs, objs, r, type)
    }

    // MARK: - Files

    /// `strerror(errno)` of the last failed call.
    private static func reason(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    private static func openForReading(_ path: String) throws(Trap) -> Int32 {
        while true {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return fd }
            if errno != EINTR { throw Trap("cannot read \(quoted(path)): \(reason())") }
        }
    }

    /// Reads up to `count` bytes into `buffer`; returns how many (fewer only at the end of the file).
    private static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ path: String)
        throws(Trap) -> Int
    {
        var done = 0
        while done < count {
            // One read() moves at most 2 GiB - 4 KiB on Linux.
            let n = read(fd, buffer + done, min(count - done, 1 << 30))
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw Trap("cannot read \(quoted(path)): \(reason())")
            }
        }
        return done
    }

    /// Bytes the VM may still allocate (a text file is held as a str).
    private static func roomLeft(_ ctx: ExecutionContext) -> Int {
        max(0, ctx.memory.limit - ctx.memory.used.load(ordering: .relaxed))
    }

    /// `read_file(path)`: the whole file as text (invalid UTF-8 becomes U+FFFD).
    static func readText(_ path: String, _ ctx: ExecutionContext) throws(Trap) -> String {
        let fd = try openForReading(path)
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw Trap("cannot read \(quoted(path)): \(reason(EISDIR))")
        }
        let limit = roomLeft(ctx)
        var bytes: [UInt8] = []
        var chunk = max(1 << 16, Int(info.st_mode & S_IFMT == S_IFREG ? info.st_size : 0) + 1)
        while true {
            let old = bytes.count
            if old + chunk > limit + 1 { chunk = max(1, limit + 1 - old) }
            bytes.append(contentsOf: repeatElement(0, count: chunk))
            let n = try withMutableBytes(&bytes) { raw throws(Trap) in
                try readFully(fd, raw.baseAddress! + old, chunk, path)
            }
            bytes.removeLast(chunk - n)
            if bytes.count > limit {
                throw Trap("out of memory (reading \(quoted(path)), a file of more than \(limit) bytes)")
            }
            if n < chunk { break }
            chunk = max(chunk, 1 << 16)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `load_f32/load_float/load_int(path)`: a 1-D .npy array of exactly that element type.
    static func loadNumpy(_ path: String, _ kind: ElementKind, _ ctx: ExecutionContext) throws(Trap) -> VMArray {
        let name = loadName(kind)
        let fd = try openForReading(path)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw Trap("cannot read \(quoted(path)): \(reason())") }
        if info.st_mode & S_IFMT == S_IFDIR { throw Trap("cannot read \(quoted(path)): \(reason(EISDIR))") }
        let isRegular = info.st_mode & S_IFMT == S_IFREG
        if isRegular { _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL)) }

        // The header: its length is in the first 10 or 12 bytes.
        var head = [UInt8](repeating: 0, count: NumpyFormat.preambleLength)
        let got = try withMutableBytes(&head) { raw throws(Trap) in
            try readFully(fd, raw.baseAddress!, raw.count, path)
        }
        head.removeLast(head.count - got)
        func formatError(_ e: NumpyFormat.FormatError) -> Trap { Trap("\(name): \(quoted(path)): \(e.reason)") }
        let offset: Int
        do throws(NumpyFormat.FormatError) {
            offset = try NumpyFormat.dataOffset(preamble: head)
        } catch {
            throw formatError(error)
        }
        guard offset <= 1 << 20 else { throw formatError(NumpyFormat.FormatError(reason: "its header is too long")) }
        if offset > head.count {
            let more = offset - head.count
            head += [UInt8](repeating: 0, count: more)
            let n = try withMutableBytes(&head) { raw throws(Trap) in
                try readFully(fd, raw.baseAddress! + (raw.count - more), more, path)
            }
            if n < more { throw formatError(NumpyFormat.FormatError(reason: "its header is cut short")) }
        }
        let header: NumpyFormat.Header
        do throws(NumpyFormat.FormatError) {
            header = try NumpyFormat.parseHeader(head, dataOffset: offset)
        } catch {
            throw formatError(error)
        }

        let want = NumpyFormat.descr(kind)
        guard header.descr == want, header.shape.count == 1 else {
            var hint = ""
            if let other = ([.f32, .float, .int] as [ElementKind]).first(where: {
                NumpyFormat.descr($0) == header.descr
            }),
                other != kind
            {
                hint = " (use \(loadName(other)) for '\(header.descr)')"
            } else if header.shape.count != 1 {
                hint = " (flatten it in numpy first: a.ravel())"
            } else {
                hint = " (convert it in numpy first: a.astype('\(want)'))"
            }
            throw Trap(
                "\(name): \(quoted(path)) holds an array of dtype '\(header.descr)' and shape \(header.shapeText); "
                    + "\(name) reads a 1-D array of '\(want)'\(hint)")
        }
        let count = header.shape[0]
        let (bytes, overflow) = count.multipliedReportingOverflow(by: kind.size)
        if overflow { throw Trap("\(name): \(quoted(path)): its shape \(header.shapeText) is too large") }
        if isRegular {
            let size = Int(info.st_size)
            if size < header.dataOffset + bytes {
                throw Trap(
                    "\(name): \(quoted(path)) is cut short: its header promises \(count) elements (\(bytes) bytes), "
                        + "the file holds \(max(0, size - header.dataOffset)) bytes of data")
            }
            if size > header.dataOffset + bytes {
                throw Trap(
                    "\(name): \(quoted(path)) has \(size - header.dataOffset - bytes) bytes after the \(count) "
                        + "elements its header promises")
            }
        }
        let array = try Interpreter.allocateArray(count, kind, ctx)
        adviseHugePages(array.data, bytes)
        let n = try readFully(fd, array.data, bytes, path)
        if n < bytes {
            throw Trap(
                "\(name): \(quoted(path)) is cut short: its header promises \(count) elements (\(bytes) bytes), "
                    + "the file holds \(n) bytes of data")
        }
        if !isRegular {
            var extra: UInt8 = 0
            if try readFully(fd, &extra, 1, path) > 0 {
                throw Trap("\(name): \(quoted(path)) has more bytes after the \(count) elements its header promises")
            }
        }
        return array
    }

    /// `Array.withUnsafeBytes` for a body with typed throws.
    private static func withBytes<T>(_ a: [UInt8], _ body: (UnsafeRawBufferPointer) throws(Trap) -> T) throws(Trap)
        -> T
    {
        let r: Result<T, Trap> = a.withUnsafeBytes { raw in Result { () throws(Trap) -> T in try body(raw) } }
        return try r.get()
    }

    /// `Array.withUnsafeMutableBytes` for a body with typed throws.
    private static func withMutableBytes<T>(
        _ a: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(Trap) -> T
    ) throws(Trap) -> T {
        let r: Result<T, Trap> = a.withUnsafeMutableBytes { raw in Result { () throws(Trap) -> T in try body(raw) } }
        return try r.get()
    }

    /// Asks for transparent huge pages for a large buffer not touched yet, as numpy does for its
    /// arrays: where the kernel gives them on request (THP "madvise" mode), reading 100 MB into the
    /// buffer takes about 50 page faults instead of 25,000, and kernels then miss the TLB less. Only a
    /// hint: nothing changes where the kernel has no huge pages.
    private static func adviseHugePages(_ p: UnsafeMutableRawPointer, _ count: Int) {
        guard count >= 4 << 20 else { return }
        let page = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        let start = (Int(bitPattern: p) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: p) + count) & ~(page - 1)
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
    }

    private static func writeAll(_ fd: Int32, _ data: UnsafeRawPointer?, _ count: Int, _ path: String) throws(Trap) {
        guard let data else { return }
        var done = 0
        while done < count {
            let n = write(fd, data + done, min(count - done, 1 << 30))
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw Trap("cannot write \(quoted(path)): \(reason(n == 0 ? EIO : errno))")
            }
        }
    }

    private static let temporaryCounter = Atomic<Int>(0)

    /// Writes a file through a temporary file beside it: `body` writes to the temporary file's
    /// descriptor; once it and `close` succeeded, the temporary file is renamed over `path` (atomic on
    /// POSIX file systems). On any failure the temporary file is removed and `path` is untouched.
    /// A symbolic link is followed: the file it points to is replaced. An existing file's permissions
    /// are kept; a new one gets 0666 less the umask, as `open` gives. An existing file that is not a
    /// regular file (a device such as /dev/full, a FIFO), and any path under /dev/ or /proc/, is
    /// written directly.
    static func writeAtomically(_ path: String, _ body: (Int32, String) throws(Trap) -> Void) throws(Trap) {
        guard !path.isEmpty else { throw Trap("cannot write \(quoted(path)): \(reason(ENOENT))") }
        var target = path
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK, let resolved = realpath(path, nil) {
            target = String(cString: resolved)
            free(resolved)
        }
        let exists = stat(target, &info) == 0
        if exists && info.st_mode & S_IFMT == S_IFDIR { throw Trap("cannot write \(quoted(path)): \(reason(EISDIR))") }
        if (exists && info.st_mode & S_IFMT != S_IFREG) || path.hasPrefix("/dev/") || path.hasPrefix("/proc/") {
            // A device, pipe or socket (a FIFO, /dev/full), or a name for an open descriptor
            // (/dev/stdout, which may be a regular file): written in place, as the shell's `>` would.
            // Renaming a file over it would replace the device node or the file behind the descriptor.
            var fd: Int32
            repeat {
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
            } while fd < 0 && errno == EINTR
            guard fd >= 0 else { throw Trap("cannot write \(quoted(path)): \(reason())") }
            defer { close(fd) }
            try body(fd, path)
            return
        }
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { String(target[...$0]) } ?? ""
        let base = slash.map { String(target[target.index(after: $0)...]) } ?? target

        var temporary = ""
        var fd: Int32 = -1
        for _ in 0..<100 {
            let n = temporaryCounter.add(1, ordering: .relaxed).newValue
            temporary = "\(directory).\(base).vecvm-\(getpid())-\(n).tmp"
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            if fd >= 0 || (errno != EEXIST && errno != EINTR) { break }
        }
        guard fd >= 0 else { throw Trap("cannot write \(quoted(path)): \(reason())") }
        if exists { _ = fchmod(fd, info.st_mode & 0o7777) }
        do throws(Trap) {
            try body(fd, path)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        if close(fd) != 0 {
            let e = errno
            unlink(temporary)
            throw Trap("cannot write \(quoted(path)): \(reason(e))")
        }
        if rename(temporary, target) != 0 {
            let e = errno
            unlink(temporary)
            throw Trap("cannot write \(quoted(path)): \(reason(e))")
        }
    }
}
