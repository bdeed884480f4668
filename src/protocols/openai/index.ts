export { registerOpenAiRoutes, sendOpenAiError } from './openai-routes.js';
