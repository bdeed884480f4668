import type { TensorMeta } from './types';

/** A zero-filled example for a tensor (dynamic dims -1 become 1), for snippets and the Try-it form. */
export function exampleData(t: TensorMeta): unknown[] {
  const shape = t.shape.map((d) => (d < 0 ? 1 : d));
  const count = shape.reduce((a, b) => a * b, 1);
  const v = t.datatype === 'BYTES' ? 'text' : t.datatype === 'BOOL' ? false : 0;
  return Array.from({ length: Math.min(count, 64) }, () => v);
}

export const exampleShape = (t: TensorMeta): number[] => t.shape.map((d) => (d < 0 ? 1 : d));

export function v2Body(inputs: TensorMeta[]): string {
  return JSON.stringify({ inputs: inputs.map((t) => ({ name: t.name, shape: exampleShape(t), datatype: t.datatype, data: exampleData(t) })) });
}

/** Snippets use $INFERD_TOKEN: the real credential is never written into the page. */
export function snippets(origin: string, namespace: string, name: string, inputs: TensorMeta[], llm: boolean): Array<{ label: string; code: string }> {
  const body = v2Body(inputs);
  const out = [
    {
      label: 'curl',
      code: `curl -s ${origin}/v2/models/${name}/infer \\\n  -H "Authorization: Bearer $INFERD_TOKEN" \\\n  -H "Inferd-Namespace: ${namespace}" \\\n  -H "Content-Type: application/json" \\\n  -d '${body}'`,
    },
    {
      label: 'Python',
      code: `import os, requests\n\nr = requests.post(\n    "${origin}/v2/models/${name}/infer",\n    headers={"Authorization": f"Bearer {os.environ['INFERD_TOKEN']}", "Inferd-Namespace": "${namespace}"},\n    json=${body},\n)\nr.raise_for_status()\nprint(r.json()["outputs"])`,
    },
  ];
  if (llm) {
    out.push({
      label: 'openai',
      code: `import os\nfrom openai import OpenAI\n\nclient = OpenAI(base_url="${origin}/v1", api_key=os.environ["INFERD_TOKEN"])\nstream = client.chat.completions.create(\n    model="${name}",\n    messages=[{"role": "user", "content": "Hello"}],\n    stream=True,\n)\nfor chunk in stream:\n    print(chunk.choices[0].delta.content or "", end="")`,
    });
    out[0] = { label: 'curl', code: `curl -sN ${origin}/v1/chat/completions \\\n  -H "Authorization: Bearer $INFERD_TOKEN" \\\n  -H "Content-Type: application/json" \\\n  -d '{"model":"${name}","stream":true,"messages":[{"role":"user","content":"Hello"}]}'` };
  }
  return out;
}
