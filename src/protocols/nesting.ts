import { invalidInput } from '../api/errors.js';

/**
 * Checks, while nested tensor data is walked, that it is rectangular as numpy requires:
 * every array at one depth has the same length and every scalar sits at the same depth.
 * Counting elements afterwards is not enough: `[[1,1,1,1,1],[1,1,1]]` holds the 8
 * elements of shape [2,4] without being one.
 */
export class NestingCheck {
  private readonly lengths: number[] = [];
  private leafDepth = -1;

  constructor(private readonly field: string) {}

  /** An array of `length` items at `depth` (0 for the outermost). */
  array(depth: number, length: number): void {
    if (this.leafDepth >= 0 && depth >= this.leafDepth) throw this.ragged(depth);
    const seen = this.lengths[depth];
    if (seen === undefined) {
      if (depth !== this.lengths.length) throw this.ragged(depth);
      this.lengths.push(length);
    } else if (seen !== length) {
      throw invalidInput(`${this.field}: ragged nested arrays: an array at depth ${depth} has ${length} elements, an earlier one ${seen}`, this.field);
    }
  }

  /** A scalar (not an array) at `depth`. */
  leaf(depth: number): void {
    if (this.leafDepth === depth) return;
    if (this.leafDepth >= 0 || depth !== this.lengths.length) throw this.ragged(depth);
    this.leafDepth = depth;
  }

  private ragged(depth: number) {
    return invalidInput(`${this.field}: ragged nested arrays: values and arrays mixed at depth ${depth}`, this.field);
  }
}
