// The library's version, shown by `vecvm --version`.
public enum VecVMVersion {
    public static let string = "0.1.0"
}
