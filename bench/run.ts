/** `npm run bench`: every performance figure, each next to a baseline measured in the same run. */
import { benchV2Rest } from './v2-rest-bench.js';

const sections: Array<[string, () => Promise<string[]>]> = [['v2-rest', benchV2Rest]];
const only = process.argv[2];

for (const [name, fn] of sections) {
  if (only && only !== name) continue;
  console.log(`\n== ${name}`);
  for (const line of await fn()) console.log(line);
}
