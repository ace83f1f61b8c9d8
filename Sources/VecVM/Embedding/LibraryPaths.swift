// Where `extern fn ... from "LIBRARY"` looks for LIBRARY. A bare name ("libm.so.6") is left to the
// dynamic loader's search (LD_LIBRARY_PATH, the system's folders); an absolute path is used as is;
// any other path ("./libmine.so", "lib/libmine.so") is relative to the folder of the .vec file that
// declares it — not to the current directory, which depends on where the host was started.

extension SourceFile {
    /// The folder part of a file name ("src/prog.vec" → "src"); nil when it has none (the current
    /// directory), or for names that are not paths ("<input-3>").
    static func directory(of fileName: String) -> String? {
        guard !fileName.hasPrefix("<"), let slash = fileName.lastIndex(of: "/") else { return nil }
        if slash == fileName.startIndex { return "/" }
        return String(fileName[..<slash])
    }
}

extension CheckerEnvironment {
    /// The path to hand to the loader for an extern's library (see the notes at the top).
    func resolvedLibraryPath(_ library: String) -> String {
        guard library.contains("/"), !library.hasPrefix("/"), let folder = libraryDirectory else { return library }
        return folder.hasSuffix("/") ? folder + library : folder + "/" + library
    }
}
