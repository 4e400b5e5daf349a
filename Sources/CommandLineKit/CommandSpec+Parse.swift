extension CommandSpec {
    /// Parses `arguments` (the words after the command name).
    ///
    /// Accepts `--name value`, `--name=value`, `-n value`, `-nvalue`, clustered short flags (`-qv`), repeated
    /// options (repeatable ones accumulate, others keep the last), and `--` to end options. Options not given
    /// fall back to their environment variable, then to their default.
    public func parse(_ arguments: [String], environment: [String: String] = [:]) throws(UsageError) -> ParsedArguments {
        var result = ParsedArguments(spec: self)
        // Help wins over anything else on the line, even a bad value before it.
        if arguments.prefix(while: { $0 != "--" }).contains(where: { $0 == "-h" || $0 == "--help" }) {
            result.helpRequested = true
            return result
        }
        var i = 0
        var optionsEnded = false

        func record(_ option: OptionSpec, _ text: String, written: String) throws(UsageError) {
            guard let value = option.kind.parse(text) else {
                throw .invalidValue(written, text, option.kind, command: name)
            }
            if option.repeatable, result.sources[option.name] == .commandLine {
                result.values[option.name, default: []].append(value)
            } else {
                result.values[option.name] = [value]
            }
            result.sources[option.name] = .commandLine
        }

        func takeValue(for option: OptionSpec, written: String) throws(UsageError) -> String {
            i += 1
            guard i < arguments.count else {
                throw UsageError("\(written) needs a value (\(option.kind.expectation))", command: name)
            }
            let next = arguments[i]
            if next.hasPrefix("--"), next.count > 2, self.option(named: String(next.dropFirst(2).prefix { $0 != "=" })) != nil {
                throw UsageError("\(written) needs a value (\(option.kind.expectation)), but '\(next)' is an option", command: name)
            }
            return next
        }

        while i < arguments.count {
            let word = arguments[i]
            if optionsEnded || word == "-" || !word.hasPrefix("-") {
                result.positionals.append(word)
            } else if word == "--" {
                optionsEnded = true
            } else if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                let optionName = String(body.prefix { $0 != "=" })
                let inline = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                if optionName == "help" {
                    result.helpRequested = true
                } else if let option = option(named: optionName) {
                    let written = "--\(optionName)"
                    if option.kind == .flag {
                        try record(option, inline ?? "true", written: written)
                    } else {
                        let text = if let inline { inline } else { try takeValue(for: option, written: written) }
                        try record(option, text, written: written)
                    }
                } else {
                    throw .unknownOption("--\(optionName)", candidates: options.map(\.displayName) + ["--help"], command: name)
                }
            } else {
                // One or more short options: -c 30, -c30, -qv.
                var rest = Substring(word.dropFirst())
                while let letter = rest.first {
                    rest = rest.dropFirst()
                    if letter == "h" {
                        result.helpRequested = true
                        continue
                    }
                    guard let option = options.first(where: { $0.short == letter }) else {
                        throw .unknownOption("-\(letter)", candidates: options.map(\.displayName), command: name)
                    }
                    let written = "-\(letter)"
                    if option.kind == .flag {
                        try record(option, "true", written: written)
                    } else {
                        let text = if rest.isEmpty { try takeValue(for: option, written: written) } else { String(rest) }
                        try record(option, text, written: written)
                        break
                    }
                }
            }
            i += 1
        }

        if result.helpRequested { return result }
        try checkPositionals(result.positionals)
        let given = Set(options.filter { result.sources[$0.name] == .commandLine && result.values[$0.name] != [.flag(false)] }.map(\.name))
        for rule in rules { try rule.check(given, command: name) }
        for option in options where result.sources[option.name] == nil {
            if let variable = option.environment, let text = environment[variable], !text.isEmpty {
                guard let value = option.kind.parse(text) else {
                    throw .invalidValue("--\(option.name)", text, option.kind, from: "$\(variable)", command: name)
                }
                result.values[option.name] = [value]
                result.sources[option.name] = .environment(variable)
            } else if let text = option.defaultValue {
                guard let value = option.kind.parse(text) else {
                    preconditionFailure("default '\(text)' of --\(option.name) is not \(option.kind.expectation)")
                }
                result.values[option.name] = [value]
                result.sources[option.name] = .defaultValue
            }
        }
        return result
    }

    private func checkPositionals(_ words: [String]) throws(UsageError) {
        let required = positionals.filter { !$0.optional }.count
        if words.count < required {
            let missing = positionals.filter { !$0.optional }[words.count]
            throw UsageError("missing <\(missing.name)>: \(missing.help)", command: name)
        }
        if positionals.last?.variadic != true, words.count > positionals.count {
            let extra = words[positionals.count]
            var message = "unexpected argument '\(extra)'"
            if positionals.isEmpty, let best = closest(to: extra, among: options.map(\.name)) {
                message += "; did you mean '--\(best)'?"
            }
            throw UsageError(message, command: name)
        }
        for (index, word) in words.enumerated() {
            let spec = positionals[min(index, positionals.count - 1)]
            guard spec.kind.parse(word) != nil else {
                throw .invalidValue("<\(spec.name)>", word, spec.kind, command: name)
            }
        }
    }
}
