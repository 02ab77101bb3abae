using System.Globalization;
using System.Text;

namespace LiveImager.Formats.FileSystems.Lvm;

/// <summary>A bounded recursive-descent parser of LVM's configuration syntax (lvm2 libdm/libdm-config.c), enough for
/// the VG metadata text: <c># comments</c>, sections <c>name { ... }</c>, <c>key = value</c>, double-quoted strings
/// with backslash escapes, integers, real numbers, and flat arrays <c>[ v, v ]</c>.</summary>
/// <remarks>Every count is bounded: section depth, items per array, and values in all, so hostile text cannot drive the
/// parser into deep recursion or large allocations; the text's own length is bounded by the caller.</remarks>
public sealed class LvmConfigParser
{
    /// <summary>Deepest nesting of sections: VG metadata uses four (vg, logical_volumes, lv, segment).</summary>
    public const int MaxDepth = 8;

    /// <summary>Most items in one array: a segment with LVM's maximum of 128 stripes needs 256.</summary>
    public const int MaxArrayItems = 65536;

    /// <summary>Most values and sections in the whole text.</summary>
    public const int MaxNodes = 1 << 20;

    private const string Structure = "LVM2 metadata text";

    private readonly byte[] _text;
    private int _position;
    private int _nodes;

    private LvmConfigParser(byte[] text) => _text = text;

    /// <summary>Parses <paramref name="text"/> into its unnamed top-level section.</summary>
    public static LvmConfigSection Parse(byte[] text)
    {
        var parser = new LvmConfigParser(text);
        var root = new LvmConfigSection(string.Empty);
        parser.ParseBody(root, depth: 0);
        return root;
    }

    private void ParseBody(LvmConfigSection section, int depth)
    {
        while (true)
        {
            SkipBlanks();
            if (_position >= _text.Length)
            {
                if (depth > 0)
                {
                    throw Bad("end of text", $"section \"{section.Name}\" is not closed by '}}'");
                }
                return;
            }
            if (_text[_position] == '}')
            {
                if (depth == 0)
                {
                    throw Bad("'}'", "a '}' closes no section");
                }
                _position++;
                return;
            }
            int start = _position;
            string name = ReadIdentifier();
            SkipBlanks();
            CountNode();
            if (Peek() == '{')
            {
                if (depth + 1 > MaxDepth)
                {
                    throw Bad(name, $"sections nest deeper than {MaxDepth}");
                }
                _position++;
                var child = new LvmConfigSection(name);
                ParseBody(child, depth + 1);
                section.Add(child, start);
            }
            else if (Peek() == '=')
            {
                _position++;
                SkipBlanks();
                section.Add(name, ParseValue(allowArray: true), start);
            }
            else
            {
                throw Bad(name, "expected '{' or '=' after a name");
            }
        }
    }

    private LvmConfigValue ParseValue(bool allowArray)
    {
        int c = Peek();
        if (c == '[' && allowArray)
        {
            _position++;
            var items = new List<LvmConfigValue>();
            SkipBlanks();
            if (Peek() == ']')
            {
                _position++;
                return LvmConfigValue.FromItems(items);
            }
            while (true)
            {
                SkipBlanks();
                if (items.Count >= MaxArrayItems)
                {
                    throw Bad("array", $"more than {MaxArrayItems} items");
                }
                CountNode();
                items.Add(ParseValue(allowArray: false));
                SkipBlanks();
                int next = Peek();
                _position++;
                if (next == ']')
                {
                    return LvmConfigValue.FromItems(items);
                }
                if (next != ',')
                {
                    _position--;
                    throw Bad(Describe(next), "expected ',' or ']' in an array");
                }
            }
        }
        if (c == '"')
        {
            return LvmConfigValue.FromText(ReadString());
        }
        if (c == '-' || c == '+' || (c >= '0' && c <= '9'))
        {
            return ReadNumber();
        }
        throw Bad(Describe(c), allowArray ? "expected a string, a number or an array" : "expected a string or a number");
    }

    private string ReadString()
    {
        _position++;
        var bytes = new List<byte>();
        while (true)
        {
            if (_position >= _text.Length)
            {
                throw Bad("end of text", "a string is not closed by '\"'");
            }
            byte b = _text[_position++];
            if (b == '"')
            {
                return Encoding.UTF8.GetString(bytes.ToArray());
            }
            if (b == '\\')
            {
                if (_position >= _text.Length)
                {
                    throw Bad("end of text", "a string ends in '\\'");
                }
                b = _text[_position++];
            }
            bytes.Add(b);
        }
    }

    private LvmConfigValue ReadNumber()
    {
        int start = _position;
        if (_text[_position] is (byte)'-' or (byte)'+')
        {
            _position++;
        }
        bool real = false;
        while (_position < _text.Length && (IsDigit(_text[_position]) || _text[_position] == '.'))
        {
            real |= _text[_position] == '.';
            _position++;
        }
        string token = Encoding.ASCII.GetString(_text, start, _position - start);
        if (real)
        {
            return double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
                ? LvmConfigValue.FromText(token)
                : throw Bad(token, "not a number", start);
        }
        return long.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long number)
            ? LvmConfigValue.FromNumber(number)
            : throw Bad(token, "not an integer that fits in 64 bits", start);
    }

    private string ReadIdentifier()
    {
        int start = _position;
        while (_position < _text.Length && IsNameByte(_text[_position]))
        {
            _position++;
        }
        if (_position == start)
        {
            throw Bad(Describe(Peek()), "expected a name");
        }
        return Encoding.ASCII.GetString(_text, start, _position - start);
    }

    private void SkipBlanks()
    {
        while (_position < _text.Length)
        {
            byte b = _text[_position];
            if (b == '#')
            {
                while (_position < _text.Length && _text[_position] != '\n')
                {
                    _position++;
                }
            }
            else if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0)
            {
                // LVM writes the text with a terminating NUL; trailing NULs are blank.
                _position++;
            }
            else
            {
                return;
            }
        }
    }

    private void CountNode()
    {
        if (++_nodes > MaxNodes)
        {
            throw Bad("text", $"more than {MaxNodes} values and sections");
        }
    }

    private int Peek() => _position < _text.Length ? _text[_position] : -1;

    private static bool IsDigit(byte b) => b >= '0' && b <= '9';

    // LVM names are [a-zA-Z0-9+_.-]; config keys are a subset.
    private static bool IsNameByte(byte b) =>
        (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || IsDigit(b) || b is (byte)'_' or (byte)'.' or (byte)'+' or (byte)'-';

    private static string Describe(int c) => c < 0 ? "end of text" : c is >= 0x21 and < 0x7F ? $"'{(char)c}'" : $"byte 0x{c:x2}";

    private DiskFormatException Bad(string value, string problem, int? at = null) =>
        new(Structure, "syntax", value, at ?? _position, problem);
}
