// Minimal typings for the parts of `sax` (a dependency of xml-js) the tests use to parse XML strictly.
declare module 'sax' {
  export interface QualifiedTag {
    name: string;
    attributes: Record<string, string>;
    isSelfClosing: boolean;
  }
  export interface SAXParser {
    onerror: (error: Error) => void;
    onopentag: (tag: QualifiedTag) => void;
    onclosetag: (name: string) => void;
    ontext: (text: string) => void;
    oncdata: (text: string) => void;
    ondoctype: (doctype: string) => void;
    onprocessinginstruction: (pi: { name: string; body: string }) => void;
    write(chunk: string): SAXParser;
    close(): SAXParser;
  }
  export function parser(strict: boolean, options?: Record<string, unknown>): SAXParser;
  const sax: { parser: typeof parser };
  export default sax;
}
