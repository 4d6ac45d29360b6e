// The part of madge's API (https://github.com/pahen/madge#api) the shape test uses.
declare module 'madge' {
  interface MadgeResult {
    /** Each module (path relative to the base directory) and the modules it imports. */
    obj(): Record<string, string[]>;
    /** The import cycles, each as the list of modules in it. */
    circular(): string[][];
  }
  interface MadgeConfig {
    fileExtensions?: string[];
    tsConfig?: string;
    detectiveOptions?: { ts?: { skipTypeImports?: boolean } };
  }
  export default function madge(path: string | string[], config?: MadgeConfig): Promise<MadgeResult>;
}
